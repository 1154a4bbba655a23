"""The parser: every construct of the language becomes the syntax node it should, with its
position; statements keep their text for traces."""
from lockcheck import syntax as s
from lockcheck.parser import parse
from lockcheck.source import SourceFile

EVERYTHING = """\
import "pagecache.lk";
const N = 2;
enum aop { OK, ACTIVATE }
struct page { lock locked; bool wb = false; int[0..3] n; bool bufs[2]; }
page pages[N];
bool flags[2] = {true, false};
spinlock sl;
rwlock sem;
proc f(page p, int[0..3] k) -> bool requires held(p.locked) ensures result == true {
    bool x = try_acquire p.locked;
    x = g(1);
    acquire p.locked; release p.locked; acquire_read sem; release_read sem;
    await !p.wb;
    assert lbl: x, "msg";
    assert x;
    if (p.wb) { skip; } else if (x) { break; } else { continue; }
    for q in pages { skip; }
    for i in 0..N-1 { skip; }
    while (x && !x || x -> x) { return true; }
    choose { skip; } or { skip; }
    atomic { k = k * 2 / 1 % 3 + 1 - 1; }
    g2(p);
    return k < 2 ? true : false;
}
thread t[2] { f(pages[self], 1); }
init { flags[0] = true; }
invariant inv: forall p in pages: exists i in 0..1: locked(p.locked) -> p.bufs[i];
lemma lem: true;
expect holds inv;
expect violation f.requires;
"""


def parsed() -> s.Module:
    return parse(SourceFile.of("all.lk", EVERYTHING))


def test_declarations():
    kinds = [type(d).__name__ for d in parsed().decls]
    assert kinds == ["Import", "ConstDecl", "EnumDecl", "StructDecl", "GlobalDecl", "GlobalDecl", "GlobalDecl",
                     "GlobalDecl", "ProcDecl", "ThreadDecl", "InitDecl", "InvariantDecl", "InvariantDecl",
                     "ExpectDecl", "ExpectDecl"]
    decls = parsed().decls
    assert decls[2].members[1][0] == "ACTIVATE"
    assert [f.name for f in decls[3].fields] == ["locked", "wb", "n", "bufs"]
    assert isinstance(decls[5].var.init, tuple) and len(decls[5].var.init) == 2
    assert decls[12].lemma and not decls[11].lemma
    assert (decls[14].verdict, decls[14].prop) == ("violation", "f.requires")


def test_proc_and_statements():
    proc = parsed().decls[8]
    assert [p.name for p in proc.params] == ["p", "k"]
    assert isinstance(proc.result, s.BoolTypeRef)
    assert [c.kind for c in proc.contracts] == ["requires", "ensures"]
    kinds = [type(st).__name__ for st in proc.body.body]
    assert kinds == ["LocalDecl", "Assign", "LockStmt", "LockStmt", "LockStmt", "LockStmt", "Await", "Assert",
                     "Assert", "If", "For", "For", "While", "Choose", "Atomic", "CallStmt", "Return"]
    body = proc.body.body
    assert isinstance(body[0].init, s.TryAcquire)
    assert isinstance(body[1].value, s.Call) and body[1].value.name == "g"
    assert [st.op for st in body[2:6]] == ["acquire", "release", "acquire_read", "release_read"]
    assert (body[7].label, body[7].message) == ("lbl", "msg")
    assert body[8].label is None
    assert isinstance(body[9].other, s.If) and isinstance(body[9].other.other, s.Block)
    assert isinstance(body[11].domain, s.Range)
    assert len(body[13].branches) == 2


def test_precedence():
    proc = parsed().decls[8]
    cond = proc.body.body[12].cond          # x && !x || x -> x
    assert isinstance(cond, s.Binary) and cond.op == "->"
    assert cond.left.op == "||" and cond.left.left.op == "&&"
    ret = proc.body.body[16].value          # k < 2 ? true : false
    assert isinstance(ret, s.Cond) and ret.test.op == "<"
    inv = parsed().decls[11].cond           # forall ...: exists ...: locked(..) -> ...
    assert isinstance(inv, s.Quantifier) and isinstance(inv.body, s.Quantifier)
    assert isinstance(inv.body.body, s.Binary) and inv.body.body.op == "->"
    assert isinstance(inv.body.body.left, s.LockQuery)


def test_statement_text_and_position():
    proc = parsed().decls[8]
    await_ = proc.body.body[6]
    assert await_.text == "await !p.wb"
    assert (await_.span.line, await_.span.column) == (13, 5)
    assert proc.body.body[9].text == "if (p.wb)"
    assert proc.body.body[10].text == "for q in pages"
    assert proc.body.body[12].text == "while (x && !x || x -> x)"


def test_comments_are_ignored():
    module = parse(SourceFile.of("c.lk", "// a comment\n/* a\nblock */ thread t { skip; } // end\n"))
    assert [type(d).__name__ for d in module.decls] == ["ThreadDecl"]
    assert module.decls[0].span.line == 3


def test_parser_tables_are_cached_in_the_users_cache_folder(tmp_path, monkeypatch):
    from lockcheck import parser
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = parser._parser_cache()
    assert path == str(tmp_path / "lockcheck" / "grammar.lark-cache")
    parser._lark.cache_clear()
    try:
        parser._lark()
        assert (tmp_path / "lockcheck" / "grammar.lark-cache").stat().st_size > 0
        parser._lark.cache_clear()
        tree = parse(SourceFile("t.lk", "const N = 1;\n"))   # loaded from the cache file
        assert tree.decls
    finally:
        parser._lark.cache_clear()


def test_an_unusable_cache_folder_means_no_cache(tmp_path, monkeypatch):
    from lockcheck import parser
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert parser._parser_cache() is False
