"""The scalar reference engine the differential tests compare lockcheck's engines with."""
