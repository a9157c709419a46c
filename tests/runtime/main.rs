//! The mio runtime end to end: Context and Socket over tcp, ipc and inproc, one module per
//! subject. Each test names the CONFORMANCE items (docs/CONFORMANCE.md) it covers.

#[path = "../common/blocked.rs"]
mod blocked;
mod close;
mod conflate;
mod hwm;
mod lead;
mod lifecycle;
mod low_latency;
mod options;
mod proxy;
mod pubsub;
mod reqrep;
mod transport;

/// What the tests share: a context, a connected PULL/PUSH pair, a round trip of assorted
/// sizes checked byte for byte.
mod common {
    pub(crate) use ferromq::{Context, Error, Msg, Multipart, Socket, SocketOptions, SocketType};
    pub(crate) use std::time::{Duration, Instant};

    pub(crate) const T: Option<Duration> = Some(Duration::from_secs(10));

    /// With `--features mutants`, plants the bug named by `FERROMQ_MUTANT` (kebab case), so
    /// that CI can show a test fails with it: `FERROMQ_MUTANT=close-before-flush cargo test
    /// --features mutants --test runtime close::` must fail.
    pub(crate) fn plant() {
        #[cfg(feature = "mutants")]
        ferromq::mutants::plant_from_env();
    }

    /// One endpoint per transport; `tag` keeps tests apart (ipc paths and inproc names are
    /// process-wide).
    pub(crate) fn endpoints(tag: &str) -> [String; 3] {
        let ipc = std::env::temp_dir().join(format!("ferromq-{tag}-{}.sock", std::process::id()));
        [
            "tcp://127.0.0.1:*".to_owned(),
            format!("ipc://{}", ipc.display()),
            format!("inproc://{tag}"),
        ]
    }

    /// A socket with 10 s timeouts both ways and the options `f` sets.
    pub(crate) fn sock(
        ctx: &Context,
        ty: SocketType,
        f: impl FnOnce(&mut SocketOptions),
    ) -> Socket {
        let mut s = ctx.socket(ty).unwrap();
        let mut o = s.options().clone();
        o.rcvtimeo = T;
        o.sndtimeo = T;
        f(&mut o);
        s.set_options(o).unwrap();
        s
    }

    /// Binds `s` to `ep` and gives the endpoint to connect to.
    pub(crate) fn bind(s: &mut Socket, ep: &str) -> String {
        s.bind(ep).unwrap();
        s.last_endpoint().unwrap().to_owned()
    }

    pub(crate) fn parts(m: &Multipart) -> Vec<Vec<u8>> {
        m.iter().map(|p| p.to_vec()).collect()
    }

    pub(crate) fn v(p: &[&[u8]]) -> Vec<Vec<u8>> {
        p.iter().map(|x| x.to_vec()).collect()
    }

    pub(crate) fn ctx() -> Context {
        plant();
        Context::builder().default_linger(Some(Duration::from_secs(5))).build().unwrap()
    }

    pub(crate) fn pull_push(ctx: &Context, bind: &str) -> (ferromq::Socket, ferromq::Socket) {
        let mut pull = ctx.socket(SocketType::Pull).unwrap();
        pull.set_rcvtimeo(T);
        pull.bind(bind).unwrap();
        let ep = pull.last_endpoint().unwrap().to_owned();
        let mut push = ctx.socket(SocketType::Push).unwrap();
        push.set_sndtimeo(T);
        push.connect(&ep).unwrap();
        (pull, push)
    }

    /// A body of `n` bytes that says which size it is at every byte.
    pub(crate) fn body(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i as u8).wrapping_mul(31).wrapping_add(n as u8)).collect()
    }

    pub(crate) fn roundtrip(pull: &mut ferromq::Socket, push: &mut ferromq::Socket) {
        for n in [0usize, 1, 255, 256, 100_000] {
            push.send(body(n)).unwrap();
        }
        push.send_multipart(vec!["a", "b", "c"]).unwrap();
        for n in [0usize, 1, 255, 256, 100_000] {
            let m = pull.recv().unwrap();
            assert_eq!(&m[..], &body(n)[..], "the {n}-byte message, byte for byte");
            assert!(!m.more());
        }
        let m = pull.recv_multipart().unwrap();
        assert_eq!(
            m,
            Multipart::from(vec![
                Msg::from("a").with_more(true),
                Msg::from("b").with_more(true),
                Msg::from("c")
            ])
        );
    }
}
