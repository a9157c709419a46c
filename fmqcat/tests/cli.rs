//! The built `fmqcat` binary against real libzmq peers (the `zmq` crate), for every socket
//! type, with fmqcat binding and with it connecting; against a second fmqcat; its output
//! formats, exit statuses, interrupt and closed-stdout handling, and `--verbose`.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

fn fmqcat(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_fmqcat"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("fmqcat runs")
}

/// Waits for `child` to exit (killing it, and failing, after 30 s).
fn finish(mut child: Child) -> Output {
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("fmqcat did not exit; stderr: {}", String::from_utf8_lossy(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.wait_with_output().unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "fmqcat failed ({:?}): {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn run(args: &[&str]) -> Output {
    finish(fmqcat(args))
}

/// A fresh ipc path.
fn ipc() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let p = std::env::temp_dir().join(format!("fmqcat-test-{}-{n}.sock", std::process::id()));
    let _ = std::fs::remove_file(&p);
    format!("ipc://{}", p.display())
}

/// Which side binds.
#[derive(Clone, Copy, Debug)]
enum Dir {
    /// fmqcat binds an ipc path, libzmq connects.
    FmqcatBinds,
    /// libzmq binds a tcp port, fmqcat connects.
    FmqcatConnects,
}

const DIRS: [Dir; 2] = [Dir::FmqcatBinds, Dir::FmqcatConnects];

/// Joins `z` to fmqcat as `dir` says; gives fmqcat's endpoint flag and value.
fn join(dir: Dir, z: &zmq::Socket) -> [String; 2] {
    match dir {
        Dir::FmqcatBinds => {
            let ep = ipc();
            z.connect(&ep).unwrap();
            ["--bind".into(), ep]
        }
        Dir::FmqcatConnects => {
            z.bind("tcp://127.0.0.1:*").unwrap();
            ["--connect".into(), z.get_last_endpoint().unwrap().unwrap()]
        }
    }
}

fn zsock(ctx: &zmq::Context, ty: zmq::SocketType) -> zmq::Socket {
    let s = ctx.socket(ty).unwrap();
    s.set_rcvtimeo(10_000).unwrap();
    s.set_sndtimeo(10_000).unwrap();
    s.set_linger(1000).unwrap();
    s
}

fn args<'a>(ep: &'a [String; 2], rest: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![ep[0].as_str(), ep[1].as_str()];
    v.extend_from_slice(rest);
    v
}

fn frames(z: &zmq::Socket) -> Vec<Vec<u8>> {
    z.recv_multipart(0).expect("libzmq received")
}

#[test]
fn push_to_libzmq_pull() {
    for dir in DIRS {
        let ctx = zmq::Context::new();
        let z = zsock(&ctx, zmq::PULL);
        let ep = join(dir, &z);
        let child = fmqcat(&args(&ep, &["--push", "--data", "a", "--data", "b", "--count", "3"]));
        for _ in 0..3 {
            assert_eq!(frames(&z), [b"a".to_vec(), b"b".to_vec()], "{dir:?}");
        }
        assert_eq!(ok(&finish(child)), "", "{dir:?}");
    }
}

#[test]
fn pull_from_libzmq_push() {
    for dir in DIRS {
        let ctx = zmq::Context::new();
        let z = zsock(&ctx, zmq::PUSH);
        let ep = join(dir, &z);
        let child = fmqcat(&args(&ep, &["--pull", "--count", "2"]));
        z.send_multipart(["one", "two"], 0).unwrap();
        z.send("three", 0).unwrap();
        assert_eq!(ok(&finish(child)), "\"one\" \"two\"\n\"three\"\n", "{dir:?}");
    }
}

#[test]
fn pub_to_libzmq_sub() {
    for dir in DIRS {
        let ctx = zmq::Context::new();
        let z = zsock(&ctx, zmq::SUB);
        z.set_subscribe(b"news").unwrap();
        let ep = join(dir, &z);
        // Published for two seconds: the subscription arrives within the first few.
        let child = fmqcat(&args(
            &ep,
            &["--pub", "--data", "news", "--data", "today", "--count", "100", "--interval", "0.02"],
        ));
        assert_eq!(frames(&z), [b"news".to_vec(), b"today".to_vec()], "{dir:?}");
        ok(&finish(child));
    }
}

/// Publishes `topic`-messages and others from libzmq until `child` exits.
fn publish_until_exit(z: &zmq::Socket, child: &mut Child, msgs: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        for m in msgs {
            z.send(*m, 0).unwrap();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn sub_from_libzmq_pub_filters_by_prefix() {
    for dir in DIRS {
        let ctx = zmq::Context::new();
        let z = zsock(&ctx, zmq::PUB);
        let ep = join(dir, &z);
        let mut child = fmqcat(&args(
            &ep,
            &["--sub", "--subscribe", "wea", "--subscribe", "spo", "--count", "2"],
        ));
        publish_until_exit(&z, &mut child, &["news", "weather"]);
        assert_eq!(ok(&finish(child)), "\"weather\"\n\"weather\"\n", "{dir:?}");
    }
}

#[test]
fn xpub_prints_libzmq_subscriptions_and_publishes() {
    for dir in DIRS {
        let ctx = zmq::Context::new();
        let z = zsock(&ctx, zmq::SUB);
        let ep = join(dir, &z);
        let mut child = fmqcat(&args(&ep, &["--xpub", "--count", "1"]));
        z.set_subscribe(b"t\x01").unwrap();
        // A bound libzmq socket takes an accepted peer, and sends it its subscriptions, only
        // when its application calls into it.
        let deadline = Instant::now() + Duration::from_secs(20);
        while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
            z.get_events().unwrap();
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(ok(&finish(child)), "\"\\x01t\\x01\"\n", "{dir:?}");
        // With --data, it publishes too, and still prints what it hears.
        let z = zsock(&ctx, zmq::SUB);
        let ep = join(dir, &z);
        z.set_subscribe(b"").unwrap();
        let child = fmqcat(&args(
            &ep,
            &["--xpub", "--data", "hello", "--count", "100", "--interval", "0.02"],
        ));
        assert_eq!(frames(&z), [b"hello".to_vec()], "{dir:?}");
        assert_eq!(ok(&finish(child)), "\"\\x01\"\n", "{dir:?}");
    }
}

#[test]
fn xsub_subscribes_at_libzmq_xpub() {
    for dir in DIRS {
        let ctx = zmq::Context::new();
        let z = zsock(&ctx, zmq::XPUB);
        let ep = join(dir, &z);
        let child = fmqcat(&args(&ep, &["--xsub", "--subscribe", "t", "--count", "1"]));
        assert_eq!(frames(&z), [b"\x01t".to_vec()], "{dir:?}");
        z.send("u: not this", 0).unwrap();
        z.send("t: this", 0).unwrap();
        assert_eq!(ok(&finish(child)), "\"t: this\"\n", "{dir:?}");
    }
}

#[test]
fn req_to_libzmq_rep() {
    for dir in DIRS {
        let ctx = zmq::Context::new();
        let z = zsock(&ctx, zmq::REP);
        let ep = join(dir, &z);
        let child = fmqcat(&args(&ep, &["--req", "--data", "ping", "--count", "2"]));
        for i in 0..2 {
            assert_eq!(frames(&z), [b"ping".to_vec()]);
            z.send(format!("pong {i}").as_str(), 0).unwrap();
        }
        assert_eq!(ok(&finish(child)), "\"pong 0\"\n\"pong 1\"\n", "{dir:?}");
    }
}

#[test]
fn rep_answers_libzmq_req() {
    for dir in DIRS {
        let ctx = zmq::Context::new();
        let z = zsock(&ctx, zmq::REQ);
        let ep = join(dir, &z);
        let child = fmqcat(&args(&ep, &["--rep", "--data", "pong", "--count", "2"]));
        for q in ["ping", "again"] {
            z.send(q, 0).unwrap();
            assert_eq!(frames(&z), [b"pong".to_vec()]);
        }
        assert_eq!(ok(&finish(child)), "\"ping\"\n\"again\"\n", "{dir:?}");
    }
}

#[test]
fn dealer_with_libzmq_router() {
    for dir in DIRS {
        let ctx = zmq::Context::new();
        let z = zsock(&ctx, zmq::ROUTER);
        let ep = join(dir, &z);
        let child =
            fmqcat(&args(&ep, &["--dealer", "--identity", "d1", "--data", "hi", "--count", "1"]));
        assert_eq!(frames(&z), [b"d1".to_vec(), b"hi".to_vec()], "{dir:?}");
        z.send_multipart(["d1", "yo"], 0).unwrap();
        assert_eq!(ok(&finish(child)), "\"yo\"\n", "{dir:?}");
    }
}

#[test]
fn router_with_libzmq_dealer_both_ways() {
    for dir in DIRS {
        let ctx = zmq::Context::new();
        let z = zsock(&ctx, zmq::DEALER);
        z.set_identity(b"dz").unwrap();
        let ep = join(dir, &z);
        // It waits for the peer named, sends to it, then prints the answer with its id frame.
        let child =
            fmqcat(&args(&ep, &["--router", "--data", "dz", "--data", "msg", "--count", "1"]));
        assert_eq!(frames(&z), [b"msg".to_vec()], "{dir:?}");
        z.send("ack", 0).unwrap();
        assert_eq!(ok(&finish(child)), "\"dz\" \"ack\"\n", "{dir:?}");
    }
}

#[test]
fn pair_with_libzmq_pair() {
    for dir in DIRS {
        let ctx = zmq::Context::new();
        let z = zsock(&ctx, zmq::PAIR);
        let ep = join(dir, &z);
        let child = fmqcat(&args(&ep, &["--pair", "--data", "hi", "--count", "1"]));
        assert_eq!(frames(&z), [b"hi".to_vec()], "{dir:?}");
        z.send("back", 0).unwrap();
        assert_eq!(ok(&finish(child)), "\"back\"\n", "{dir:?}");
    }
}

/// Two fmqcats, one binding, one connecting, for the usual pairs.
#[test]
fn against_a_second_fmqcat() {
    let cases: &[(&[&str], &[&str], &str, &str)] = &[
        (&["--pull", "--count", "1"], &["--push", "--data", "x"], "\"x\"\n", ""),
        (
            &["--rep", "--count", "1"],
            &["--req", "--data", "echo me"],
            "\"echo me\"\n",
            "\"echo me\"\n",
        ),
        (
            &["--sub", "--subscribe", "a", "--count", "1"],
            &["--pub", "--data", "abc", "--count", "200", "--interval", "0.02"],
            "\"abc\"\n",
            "",
        ),
        (
            &["--router", "--count", "1"],
            &[
                "--dealer",
                "--identity",
                "me",
                "--data",
                "hi",
                "--count",
                "1",
                "--recv-timeout",
                "0.3",
            ],
            "\"me\" \"hi\"\n",
            "",
        ),
    ];
    for (server, client, server_out, client_out) in cases {
        let ep = ipc();
        let mut s = vec!["--bind", ep.as_str()];
        s.extend_from_slice(server);
        let mut c = vec!["--connect", ep.as_str()];
        c.extend_from_slice(client);
        let server_child = fmqcat(&s);
        let client_child = fmqcat(&c);
        assert_eq!(ok(&finish(server_child)), *server_out, "{server:?}");
        let client = finish(client_child);
        if client_out.is_empty() && server[0] == "--router" {
            // The DEALER got no answer: its --recv-timeout ends it with status 1.
            assert_eq!(client.status.code(), Some(1));
        } else {
            assert_eq!(ok(&client), *client_out, "{client:?}");
        }
    }
}

#[test]
fn output_formats() {
    let message: [&[u8]; 4] = [b"a\"b\\", b"", b"\x00\xff\n\t", b"Zz~ "];
    let expect: [(&str, &[u8]); 4] = [
        ("quoted", b"\"a\\\"b\\\\\" \"\" \"\\x00\\xff\\n\\t\" \"Zz~ \"\n"),
        ("ascii", b"a\"b\\  .... Zz~ \n"),
        ("hex", b"6122625c  00ff0a09 5a7a7e20\n"),
        ("raw", b"a\"b\\\x00\xff\n\tZz~ "),
    ];
    for (format, want) in expect {
        let ctx = zmq::Context::new();
        let z = zsock(&ctx, zmq::PUSH);
        let ep = join(Dir::FmqcatConnects, &z);
        let child = fmqcat(&args(&ep, &["--pull", "--count", "1", "--format", format]));
        z.send_multipart(message, 0).unwrap();
        let out = finish(child);
        assert!(out.status.success(), "{format}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.stdout, want, "{format}: {:?}", String::from_utf8_lossy(&out.stdout));
    }
}

/// Bad usage: status 2 and one line on stderr.
#[test]
fn bad_usage_exits_2_with_one_line() {
    let cases: &[&[&str]] = &[
        &["--bind", "tcp://127.0.0.1:*"],
        &["--push", "--pull", "--bind", "tcp://127.0.0.1:*"],
        &["--pull"],
        &["--pull", "--bind", "tcp//nowhere"],
        &["--pull", "--connect", "udp://127.0.0.1:5"],
        &["--push", "--bind", "tcp://127.0.0.1:*", "--data", "a", "--file", "/etc/hostname"],
        &["--pull", "--bind", "tcp://127.0.0.1:*", "--no-such-flag"],
        &["--pull", "--bind", "tcp://127.0.0.1:*", "--interval", "soon"],
        &["--push", "--bind", "tcp://127.0.0.1:*"],
        &["--pull", "--bind", "tcp://127.0.0.1:*", "--subscribe", "x"],
    ];
    for case in cases {
        let out = run(case);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{case:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{case:?}: {err}");
        assert!(err.starts_with("fmqcat: "), "{case:?}: {err}");
    }
}

/// Runtime failures: status 1 and one line on stderr.
#[test]
fn runtime_failures_exit_1() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let in_use = format!("tcp://{}", taken.local_addr().unwrap());
    let cases: Vec<Vec<&str>> = vec![
        vec!["--push", "--connect", "tcp://127.0.0.1:1", "--file", "/no/such/file"],
        vec!["--pull", "--bind", &in_use],
        vec!["--pull", "--connect", "tcp://no-such-host.invalid:5555"],
        vec!["--pull", "--bind", "tcp://127.0.0.1:*", "--recv-timeout", "0.2"],
    ];
    for case in &cases {
        let out = run(case);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{case:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{case:?}: {err}");
        assert!(!err.contains("panicked"), "{case:?}: {err}");
    }
}

/// A peer that refuses fmqcat (a libzmq socket of a type it may not talk to): status 1 with
/// the reason, whether fmqcat was waiting to receive or had sent already.
#[test]
fn a_refusing_peer_exits_1() {
    for client in [&["--pull"][..], &["--push", "--data", "lost"], &["--req", "--data", "q"]] {
        let ctx = zmq::Context::new();
        let z = zsock(&ctx, zmq::PUB);
        let ep = join(Dir::FmqcatConnects, &z);
        let out = run(&args(&ep, client));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{client:?}: {err}");
        assert!(err.contains("refused the connection"), "{client:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{client:?}: {err}");
    }
}

/// SIGINT (Ctrl-C) and SIGTERM end a receiving fmqcat with status 0, its output flushed.
#[test]
fn an_interrupt_ends_a_receiver_cleanly() {
    for signal in ["-INT", "-TERM"] {
        let ctx = zmq::Context::new();
        let z = zsock(&ctx, zmq::PUSH);
        let ep = join(Dir::FmqcatConnects, &z);
        let mut child = fmqcat(&args(&ep, &["--pull"]));
        z.send("before", 0).unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line, "\"before\"\n");
        let pid = child.id().to_string();
        assert!(Command::new("kill").args([signal, &pid]).status().unwrap().success());
        let out = finish(child);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{signal}: {err}");
        assert!(out.stderr.is_empty(), "{signal}: {err}");
    }
}

/// A closed stdout (`fmqcat ... | head -1`) ends fmqcat quietly.
#[test]
fn a_closed_stdout_ends_it_quietly() {
    let ctx = zmq::Context::new();
    let z = zsock(&ctx, zmq::PUSH);
    let ep = join(Dir::FmqcatConnects, &z);
    let mut child = fmqcat(&args(&ep, &["--pull"]));
    z.send("first", 0).unwrap();
    {
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert_eq!(line, "\"first\"\n");
    } // the reading end closes here
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        z.send("more", zmq::DONTWAIT).ok();
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = finish(child);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// `--verbose`: the monitor's events on stderr, one line each; the listening line names the
/// port a wildcard bind got, so a script can connect to it.
#[test]
fn verbose_prints_connection_events() {
    let mut child = fmqcat(&["--pull", "--bind", "tcp://127.0.0.1:*", "--count", "1", "-v"]);
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    let ep = line.trim().strip_prefix("fmqcat: listening ").expect(&line).to_owned();
    let ctx = zmq::Context::new();
    let z = zsock(&ctx, zmq::PUSH);
    z.connect(&ep).unwrap();
    z.send("hi", 0).unwrap();
    let mut rest = String::new();
    err.read_to_string(&mut rest).unwrap();
    let out = finish(child);
    assert_eq!(ok(&out), "\"hi\"\n");
    assert!(rest.contains(&format!("fmqcat: accepted on {ep}")), "{rest}");
    assert!(rest.lines().all(|l| l.starts_with("fmqcat: ")), "{rest}");
}

/// `--help` lists the flags and its examples are the README's sessions, command for command.
#[test]
fn help_shows_the_readme_sessions() {
    let out = run(&["--help"]);
    let help = ok(&out);
    for flag in ["--req", "--xsub", "--bind", "--data", "--file", "--count", "--interval"] {
        assert!(help.contains(flag), "{flag}");
    }
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("the README");
    let commands: Vec<&str> = readme
        .lines()
        .filter_map(|l| l.strip_prefix("$ fmqcat "))
        .map(|c| c.trim_end_matches(" &"))
        .collect();
    assert_eq!(commands.len(), 5, "the README's fmqcat sessions");
    for c in commands {
        assert!(help.contains(&format!("fmqcat {c}")), "--help lacks: fmqcat {c}");
    }
}
