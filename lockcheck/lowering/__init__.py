"""Lowering one body (a thread or the init block) from syntax to IR steps, in parts by job:

- places.py: what a name means (a place in the state vector, a value, a constant)
- state.py: what every part shares (the thread, its graph so far, scopes, frames, loops)
- graph.py: nodes, local slots, edges and whether a step is local
- scopes.py: block scopes and name lookup
- exprs.py: expressions to IR, with their bounds obligations
- locks.py: lock queries, lock statements and the lock checks
- control.py: statements and control flow
- calls.py: inlining a call
- body.py: the parts put together, and a whole thread
"""
