//! Filters over text: regular expressions, paths, shell quoting, base64, hashes and time.

use super::*;

#[test]
fn regex_replace_filter() {
    assert_eq!(
        render(r"{{ 'host-01.example' | regex_replace('^(\\w+)-(\\d+).*$', '\\2:\\1') }}"),
        "01:host"
    );
    assert_eq!(
        render(r"{{ 'k=v' | regex_replace('(?P<key>\\w+)=(?P<val>\\w+)', '\\g<val>=\\g<key>') }}"),
        "v=k"
    );
    assert_eq!(render("{{ 'a.b.c' | regex_replace('\\.', '$') }}"), "a$b$c");
    assert_eq!(
        render("{{ 'ABC abc' | regex_replace('abc', 'x', ignorecase=true) }}"),
        "x x"
    );
    assert_eq!(
        render("{{ 'aaa' | regex_replace('a', 'b', count=2) }}"),
        "bba"
    );
    assert_eq!(render("{{ 'abc' | regex_replace('b') }}"), "ac");
    assert!(Renderer::new()
        .render("t", "{{ 'x' | regex_replace('(', '') }}", &vars())
        .is_err());
}

#[test]
fn regex_search_and_findall() {
    assert_eq!(
        ev("'server 16.2 up' | regex_search('\\\\d+\\\\.\\\\d+')"),
        json!("16.2")
    );
    assert_eq!(ev("'nothing' | regex_search('\\\\d+')"), J::Null);
    assert_eq!(
        ev("'v=16.2' | regex_search('(\\\\d+)\\\\.(?P<minor>\\\\d+)', '\\\\1', '\\\\g<minor>')"),
        json!(["16", "2"])
    );
    assert_eq!(ev("'ABC' | regex_search('b', ignorecase=true)"), json!("B"));
    assert_eq!(
        ev("'a1b22c333' | regex_findall('\\\\d+')"),
        json!(["1", "22", "333"])
    );
    assert_eq!(
        ev("'k1=v1 k2=v2' | regex_findall('(\\\\w+)=(\\\\w+)')"),
        json!([["k1", "v1"], ["k2", "v2"]])
    );
    assert_eq!(
        ev("'x1 y2' | regex_findall('[a-z](\\\\d)')"),
        json!(["1", "2"])
    );
    assert_eq!(ev("'a.b*c' | regex_escape"), json!("a\\.b\\*c"));
    assert_eq!(ev("'[x]' | regex_escape('posix_basic')"), json!("\\[x\\]"));
}

#[test]
fn path_filters() {
    assert_eq!(
        render("{{ '/etc/pgbackrest/pgbackrest.conf' | basename }}"),
        "pgbackrest.conf"
    );
    assert_eq!(
        render("{{ '/etc/pgbackrest/pgbackrest.conf' | dirname }}"),
        "/etc/pgbackrest"
    );
    assert_eq!(render("[{{ '/a/b/' | basename }}]"), "[]");
    assert_eq!(render("{{ '/a/b/' | dirname }}"), "/a/b");
    assert_eq!(render("{{ '/a' | dirname }}"), "/");
    assert_eq!(render("[{{ 'file' | dirname }}]"), "[]");
}

fn sh_printf(quoted: &str) -> String {
    let out = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(format!("printf %s {quoted}"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run /bin/sh: {e}"));
    assert!(out.status.success(), "sh failed for {quoted}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn quote_filter_survives_the_shell() {
    assert_eq!(ev("\"a'b\" | quote"), json!("'a'\\''b'"));
    assert_eq!(
        ev("'simple-word_1.2/x' | quote"),
        json!("simple-word_1.2/x")
    );
    assert_eq!(ev("'' | quote"), json!("''"));
    assert_eq!(ev("none | quote"), json!("''"));
    let hostile = [
        "a'b; $(rm -rf /)",
        "`id` && echo pwned",
        "'''",
        "$HOME \"double\" \\back\\slash",
        "new\nline\ttab",
        "glob * ? [a] ~ #comment",
        "ünïcode 🐘 'mixed\"",
        "-n",
    ];
    let r = Renderer::new();
    for s in hostile {
        let quoted = r
            .render("q", "{{ s | quote }}", &json!({ "s": s }))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sh_printf(&quoted), s, "quoted form {quoted}");
    }
    assert_eq!(
        r.render("q", "{{ s | quote }}", &json!({"s": "a'b; $(rm -rf /)"}))
            .unwrap_or_else(|e| panic!("{e}")),
        "'a'\\''b; $(rm -rf /)'"
    );
}

#[test]
fn base64_filters() {
    assert_eq!(
        render("{{ 'hello wörld' | b64encode }}"),
        "aGVsbG8gd8O2cmxk"
    );
    assert_eq!(
        render("{{ 'aGVsbG8gd8O2cmxk' | b64decode }}"),
        "hello wörld"
    );
    for (plain, enc) in [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
    ] {
        assert_eq!(ev(&format!("'{plain}' | b64encode")), json!(enc));
        assert_eq!(ev(&format!("'{enc}' | b64decode")), json!(plain));
    }
    assert_eq!(ev("'Zm9v\nYmFy' | b64decode"), json!("foobar"));
    assert!(Renderer::new()
        .eval("'Zm9v!' | b64decode", &vars())
        .is_err());
}

#[test]
fn hash_filters() {
    assert_eq!(
        render("{{ 'abc' | hash('sha256') }}"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        render("{{ 'abc' | hash('sha1') }}"),
        "a9993e364706816aba3e25717850c26c9cd0d89d"
    );
    assert_eq!(
        render("{{ 'abc' | hash }}"),
        "a9993e364706816aba3e25717850c26c9cd0d89d"
    );
    assert_eq!(
        render("{{ 'abc' | checksum }}"),
        "a9993e364706816aba3e25717850c26c9cd0d89d"
    );
    assert_eq!(
        render("{{ '' | hash('md5') }}"),
        "d41d8cd98f00b204e9800998ecf8427e"
    );
    assert_eq!(
        render("{{ 'abc' | hash('md5') }}"),
        "900150983cd24fb0d6963f7d28e17f72"
    );
    assert_eq!(
        render("{{ ('secret' ~ 'dbuser_dba') | hash('md5') }}"),
        "351b346c1ebd8813304bc73d588ca7d7"
    );
    let long = "a".repeat(1000);
    let r = Renderer::new();
    let ctx = json!({ "s": long });
    assert_eq!(
        r.render("h", "{{ s | hash('md5') }} {{ s | hash('sha1') }}", &ctx)
            .unwrap_or_else(|e| panic!("{e}")),
        "cabe45dcc9ae5b66ba86600cca6b8ba8 291e9a6c66994949b57ba5e650361e98fc36b1ba"
    );
    assert!(r.eval("'x' | hash('whirlpool')", &vars()).is_err());
}

#[test]
fn strftime_filter() {
    assert_eq!(
        render("{{ '%Y-%m-%d %H:%M:%S' | strftime(0, utc=true) }}"),
        "1970-01-01 00:00:00"
    );
    assert_eq!(
        render("{{ '%Y-%m-%d' | strftime(86400 * 365, true) }}"),
        "1971-01-01"
    );
    assert_eq!(render("{{ strftime('%H:%M', 3600, utc=true) }}"), "01:00");
    let year = chrono::Local::now().format("%Y").to_string();
    assert_eq!(render("{{ '%Y' | strftime }}"), year);
    assert!(Renderer::new()
        .render("t", "{{ '%Q' | strftime }}", &vars())
        .is_err());
}
