//! `fmqcat`: a command-line ZeroMQ peer on ferromq, for poking at any ZeroMQ system from a
//! shell (nanomsg's nanocat and nng's nngcat are its models). See `fmqcat --help`.
//!
//! Exit status: 0 on success (and when interrupted, or when stdout is closed); 1 on a runtime
//! failure (a timeout, an address in use, a host that does not resolve, a file that cannot be
//! read, a peer that refuses the connection); 2 on bad usage, with a one-line message on
//! stderr.

mod format;

use clap::{ArgGroup, CommandFactory, FromArgMatches, Parser};
use ferromq::endpoint::{Endpoint, Host, Port};
use ferromq::{Context, Error, Msg, Socket, SocketType};
use format::Format;
use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const EXAMPLES: &str = "\
Examples (the README shows these sessions with their output):
  # a subscriber printing two messages on topic \"weather\", and a publisher
  fmqcat --sub --connect tcp://127.0.0.1:5556 --subscribe weather --count 2
  fmqcat --pub --bind tcp://127.0.0.1:5556 --data 'weather sunny' --count 5 --interval 0.2 --delay 0.3

  # two requests to a REP server (libzmq's, or: fmqcat --rep --bind ... --data pong)
  fmqcat --req --connect tcp://127.0.0.1:5555 --data ping --count 2

  # a ROUTER watching a DEALER: it waits for the peer d1, sends to it, prints its message
  # with the routing-id frame, and shows connection events on stderr
  fmqcat --router --bind tcp://127.0.0.1:5557 --data d1 --data 'hi dealer' -v
  fmqcat --dealer --connect tcp://127.0.0.1:5557 --identity d1 --data 'hi router'

Exit status: 0 success (also on SIGINT/SIGTERM, or a closed stdout); 1 runtime failure
(timeout, address in use, host that does not resolve, unreadable file, a peer that refuses
the connection); 2 bad usage.";

#[derive(Parser, Debug)]
#[command(
    name = "fmqcat",
    version,
    about = "A command-line ZeroMQ peer: bind or connect a socket of any type, send, print what arrives",
    after_help = EXAMPLES,
    group(ArgGroup::new("type").required(true).multiple(false).args([
        "req", "rep", "pub_", "sub", "push", "pull", "dealer", "router", "pair", "xpub", "xsub"
    ])),
    group(ArgGroup::new("endpoint").required(true).multiple(true).args(["bind", "connect"])),
)]
struct Cli {
    /// REQ: send, then print the reply, --count times.
    #[arg(long, help_heading = "Socket type (exactly one)")]
    req: bool,
    /// REP: print each request and reply with --data, or echo it.
    #[arg(long, help_heading = "Socket type (exactly one)")]
    rep: bool,
    /// PUB: publish --data.
    #[arg(long = "pub", help_heading = "Socket type (exactly one)")]
    pub_: bool,
    /// SUB: print what matches --subscribe (everything without it).
    #[arg(long, help_heading = "Socket type (exactly one)")]
    sub: bool,
    /// PUSH: send --data.
    #[arg(long, help_heading = "Socket type (exactly one)")]
    push: bool,
    /// PULL: print what arrives.
    #[arg(long, help_heading = "Socket type (exactly one)")]
    pull: bool,
    /// DEALER: send --data (if given), print what arrives.
    #[arg(long, help_heading = "Socket type (exactly one)")]
    dealer: bool,
    /// ROUTER: send --data (the first value names the peer), print what arrives with its
    /// routing-id frame.
    #[arg(long, help_heading = "Socket type (exactly one)")]
    router: bool,
    /// PAIR: send --data (if given), print what arrives.
    #[arg(long, help_heading = "Socket type (exactly one)")]
    pair: bool,
    /// XPUB: publish --data, print each subscription message (\x01 or \x00, then the topic).
    #[arg(long, help_heading = "Socket type (exactly one)")]
    xpub: bool,
    /// XSUB: subscribe as --subscribe says, print what arrives.
    #[arg(long, help_heading = "Socket type (exactly one)")]
    xsub: bool,

    /// Bind to URL (repeatable; binds and connects apply in the order given).
    #[arg(long, value_name = "URL", help_heading = "Endpoints (at least one)")]
    bind: Vec<String>,
    /// Connect to URL (repeatable).
    #[arg(long, value_name = "URL", help_heading = "Endpoints (at least one)")]
    connect: Vec<String>,

    /// A frame to send; repeat it to send one multipart message of these frames in order.
    #[arg(long, value_name = "TEXT", conflicts_with = "file")]
    data: Vec<String>,
    /// Send the contents of PATH as one frame.
    #[arg(long, value_name = "PATH")]
    file: Option<std::path::PathBuf>,
    /// A sending type sends N times (default 1); a receiving type exits after N messages
    /// (default: until interrupted).
    #[arg(long, value_name = "N")]
    count: Option<u64>,
    /// Wait SECS between sends (fractions allowed).
    #[arg(long, value_name = "SECS", value_parser = secs)]
    interval: Option<Duration>,
    /// Wait SECS before the first send.
    #[arg(long, value_name = "SECS", value_parser = secs)]
    delay: Option<Duration>,
    /// Exit with status 1 when a wait for a message lasts longer than SECS.
    #[arg(long, value_name = "SECS", value_parser = secs)]
    recv_timeout: Option<Duration>,
    /// Exit with status 1 when a send waits longer than SECS.
    #[arg(long, value_name = "SECS", value_parser = secs)]
    send_timeout: Option<Duration>,
    /// Subscribe to PREFIX (repeatable; SUB and XSUB; none: everything).
    #[arg(long, value_name = "PREFIX")]
    subscribe: Vec<String>,
    /// The socket's routing id (REQ, REP, DEALER, ROUTER).
    #[arg(long, value_name = "ID")]
    identity: Option<String>,
    /// LINGER in milliseconds (default: deliver everything sent before exiting; 0 may drop
    /// messages not sent yet).
    #[arg(long, value_name = "MS")]
    linger: Option<u64>,
    /// How to print what arrives.
    #[arg(long, value_enum, default_value = "quoted")]
    format: Format,
    /// Print connection events (listening, connected, accepted, disconnected, handshake
    /// failures and their reasons) to stderr, one line each.
    #[arg(short, long)]
    verbose: bool,
}

/// SECS: a non-negative, finite number of seconds, fractions allowed.
fn secs(s: &str) -> Result<Duration, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(v).map_err(|_| format!("{s:?} is not a duration"))
}

/// Why fmqcat stops early.
#[derive(Debug)]
enum Stop {
    /// Bad usage: exit status 2.
    Usage(String),
    /// A runtime failure: exit status 1.
    Failed(String),
    /// Interrupted, or stdout closed: exit status 0, nothing to say.
    Quiet,
}

type Outcome<T> = Result<T, Stop>;

impl Cli {
    fn socket_type(&self) -> SocketType {
        use SocketType::*;
        let flags = [
            (self.req, Req),
            (self.rep, Rep),
            (self.pub_, Pub),
            (self.sub, Sub),
            (self.push, Push),
            (self.pull, Pull),
            (self.dealer, Dealer),
            (self.router, Router),
            (self.pair, Pair),
            (self.xpub, Xpub),
            (self.xsub, Xsub),
        ];
        flags.into_iter().find_map(|(on, ty)| on.then_some(ty)).unwrap_or(Pair)
    }
}

fn main() -> ExitCode {
    let (cli, endpoints) = match parse() {
        Ok(parsed) => parsed,
        Err(code) => return code,
    };
    match run(&cli, &endpoints) {
        Ok(()) | Err(Stop::Quiet) => ExitCode::SUCCESS,
        Err(Stop::Usage(why)) => {
            eprintln!("fmqcat: {why}");
            ExitCode::from(2)
        }
        Err(Stop::Failed(why)) => {
            eprintln!("fmqcat: {why}");
            ExitCode::from(1)
        }
    }
}

/// Parses the command line; the endpoints come back in the order given, binds and connects
/// interleaved (clap keeps each flag's values apart, their positions tell the order).
fn parse() -> Result<(Cli, Vec<(bool, String)>), ExitCode> {
    let matches = match Cli::command().try_get_matches() {
        Ok(m) => m,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return Err(ExitCode::SUCCESS);
            }
            // One line: clap's message (up to its first blank line), without its "error: "
            // prefix and the usage that follows.
            let text = e.render().to_string();
            let words: Vec<&str> =
                text.lines().take_while(|l| !l.trim().is_empty()).map(str::trim).collect();
            let line = words.join(" ");
            eprintln!("fmqcat: {} (see --help)", line.trim_start_matches("error: "));
            return Err(ExitCode::from(2));
        }
    };
    let cli = Cli::from_arg_matches(&matches).map_err(|e| {
        eprintln!("fmqcat: {e}");
        ExitCode::from(2)
    })?;
    let mut endpoints = Vec::new();
    for (id, bind) in [("bind", true), ("connect", false)] {
        let values = matches.get_many::<String>(id).into_iter().flatten();
        let indices = matches.indices_of(id).into_iter().flatten();
        endpoints.extend(indices.zip(values).map(|(i, v)| (i, bind, v.clone())));
    }
    endpoints.sort_by_key(|&(i, ..)| i);
    Ok((cli, endpoints.into_iter().map(|(_, b, v)| (b, v)).collect()))
}

fn run(cli: &Cli, endpoints: &[(bool, String)]) -> Outcome<()> {
    let ty = cli.socket_type();
    check_usage(cli, ty, !cli.data.is_empty() || cli.file.is_some())?;
    for (_, ep) in endpoints {
        ep.parse::<Endpoint>().map_err(|e| Stop::Usage(format!("{ep}: {e}")))?;
    }
    let payload = payload(cli)?;
    let ctx = Context::new().map_err(|e| Stop::Failed(e.to_string()))?;
    watch_signals(&ctx)?;
    let result = {
        let mut peer = Peer::open(&ctx, cli, ty, endpoints)?;
        let r = peer.attach(endpoints).and_then(|()| peer.talk(cli, ty, payload));
        if r.is_ok() && peer.sent {
            let connects: Vec<String> =
                endpoints.iter().filter(|(b, _)| !b).map(|(_, e)| e.clone()).collect();
            await_handshakes(&connects, cli.linger.map(Duration::from_millis));
        }
        peer.close();
        r
    };
    // Waits for what was sent to be delivered, within LINGER.
    ctx.term();
    match (result, refused()) {
        (Ok(()), Some(why)) => Err(Stop::Failed(why)),
        (r, _) => r,
    }
}

/// The frames to send: `--data` values, or `--file`'s contents as one frame.
fn payload(cli: &Cli) -> Outcome<Option<Vec<Vec<u8>>>> {
    if let Some(path) = &cli.file {
        let body = std::fs::read(path)
            .map_err(|e| Stop::Failed(format!("cannot read {}: {e}", path.display())))?;
        return Ok(Some(vec![body]));
    }
    if cli.data.is_empty() {
        return Ok(None);
    }
    Ok(Some(cli.data.iter().map(|d| d.as_bytes().to_vec()).collect()))
}

fn check_usage(cli: &Cli, ty: SocketType, has_data: bool) -> Outcome<()> {
    use SocketType::*;
    let needs_data = matches!(ty, Req | Pub | Push);
    if needs_data && !has_data {
        return Err(Stop::Usage(format!("--{} needs --data or --file", flag(ty))));
    }
    if !has_data && matches!(ty, Sub | Pull | Xsub) {
        // Fine: they only receive.
    } else if has_data && matches!(ty, Sub | Pull | Xsub) {
        return Err(Stop::Usage(format!("--{} cannot send: drop --data/--file", flag(ty))));
    }
    if !cli.subscribe.is_empty() && !matches!(ty, Sub | Xsub) {
        return Err(Stop::Usage("--subscribe is for --sub and --xsub".into()));
    }
    if cli.identity.is_some() && !matches!(ty, Req | Rep | Dealer | Router) {
        return Err(Stop::Usage("--identity is for --req, --rep, --dealer and --router".into()));
    }
    if ty == Router && cli.data.len() == 1 {
        return Err(Stop::Usage(
            "--router sends the first --data value as the peer's routing id: give at least one \
             more for the message"
                .into(),
        ));
    }
    if ty == Router && cli.file.is_some() {
        return Err(Stop::Usage("--router needs --data ID --data FRAME..., not --file".into()));
    }
    Ok(())
}

fn flag(ty: SocketType) -> String {
    ty.to_string().to_lowercase()
}

/// Set by SIGINT or SIGTERM, for waits that are not on a socket.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// What the handshakes with the peers fmqcat connected to came to, from the monitor.
struct Handshakes {
    /// A peer refused fmqcat (the handshake failed on a protocol error, or the peer sent
    /// ERROR): the context is terminated and fmqcat exits 1 with this reason.
    refused: Option<String>,
    /// Connect endpoints whose handshake succeeded or failed.
    settled: Vec<String>,
}

static HANDSHAKES: (std::sync::Mutex<Handshakes>, std::sync::Condvar) = (
    std::sync::Mutex::new(Handshakes { refused: None, settled: Vec::new() }),
    std::sync::Condvar::new(),
);

fn handshakes() -> std::sync::MutexGuard<'static, Handshakes> {
    HANDSHAKES.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn refused() -> Option<String> {
    handshakes().refused.clone()
}

/// Before a sender lets its socket go, each peer it connected to has taken or refused it (or
/// LINGER ran out): a refusal, which would drop what was queued for it, then fails fmqcat
/// instead of passing unseen.
fn await_handshakes(connects: &[String], linger: Option<Duration>) {
    let deadline = linger.map(|l| Instant::now() + l);
    let mut h = handshakes();
    loop {
        let done = h.refused.is_some() || connects.iter().all(|c| h.settled.contains(c));
        if done || INTERRUPTED.load(Ordering::Acquire) {
            return;
        }
        let mut wait = Duration::from_millis(100);
        if let Some(d) = deadline {
            let left = d.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            wait = wait.min(left);
        }
        h = HANDSHAKES.1.wait_timeout(h, wait).unwrap_or_else(|e| e.into_inner()).0;
    }
}

/// SIGINT and SIGTERM terminate the context: a blocked receive or send returns
/// `Error::Terminated`, and fmqcat exits 0 after flushing its output.
fn watch_signals(ctx: &Context) -> Outcome<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])
        .map_err(|e| Stop::Failed(format!("cannot watch signals: {e}")))?;
    let ctx = ctx.clone();
    std::thread::Builder::new()
        .name("fmqcat-signals".into())
        .spawn(move || {
            if signals.forever().next().is_some() {
                INTERRUPTED.store(true, Ordering::Release);
                ctx.term();
            }
        })
        .map_err(|e| Stop::Failed(format!("cannot start a thread: {e}")))?;
    Ok(())
}

/// The socket, its monitor's printer, and stdout.
struct Peer {
    socket: Option<Socket>,
    monitor: Option<std::thread::JoinHandle<()>>,
    out: std::io::BufWriter<std::io::Stdout>,
    format: Format,
    buf: Vec<u8>,
    /// Something was sent.
    sent: bool,
}

impl Peer {
    fn open(
        ctx: &Context,
        cli: &Cli,
        ty: SocketType,
        endpoints: &[(bool, String)],
    ) -> Outcome<Peer> {
        let mut socket = ctx.socket(ty).map_err(|e| Stop::Failed(e.to_string()))?;
        let mut o = socket.options().clone();
        if let Some(id) = &cli.identity {
            o.routing_id = id.clone().into_bytes().into();
        }
        if let Some(ms) = cli.linger {
            o.linger = Some(Duration::from_millis(ms));
        }
        o.sndtimeo = cli.send_timeout;
        o.rcvtimeo = cli.recv_timeout;
        // A message for a peer not connected yet waits for it instead of vanishing.
        o.router_mandatory = ty == SocketType::Router;
        socket.set_options(o).map_err(|e| Stop::Usage(e.to_string()))?;
        let watch = Watch {
            verbose: cli.verbose,
            connects: endpoints.iter().filter(|(b, _)| !b).map(|(_, e)| e.clone()).collect(),
            ctx: ctx.clone(),
        };
        let m = socket.monitor();
        let monitor = Some(std::thread::spawn(move || watch.run(&m)));
        Ok(Peer {
            socket: Some(socket),
            monitor,
            out: std::io::BufWriter::new(std::io::stdout()),
            format: cli.format,
            buf: Vec::new(),
            sent: false,
        })
    }

    fn socket(&mut self) -> &mut Socket {
        self.socket.as_mut().expect("open until close")
    }

    fn close(&mut self) {
        let _ = self.out.flush();
        if let Some(mut s) = self.socket.take() {
            if refused().is_some() {
                // What was queued for the peer that refused will never go: do not wait for it.
                let mut o = s.options().clone();
                o.linger = Some(Duration::ZERO);
                let _ = s.set_options(o);
            }
            drop(s);
        }
        if let Some(t) = self.monitor.take() {
            let _ = t.join();
        }
    }

    fn attach(&mut self, endpoints: &[(bool, String)]) -> Outcome<()> {
        for (bind, ep) in endpoints {
            if *bind {
                self.socket()
                    .bind(ep)
                    .map_err(|e| Stop::Failed(format!("cannot bind {ep}: {e}")))?;
            } else {
                resolves(ep)?;
                self.socket()
                    .connect(ep)
                    .map_err(|e| Stop::Failed(format!("cannot connect to {ep}: {e}")))?;
            }
        }
        Ok(())
    }

    fn talk(&mut self, cli: &Cli, ty: SocketType, payload: Option<Vec<Vec<u8>>>) -> Outcome<()> {
        use SocketType::*;
        match ty {
            Sub => {
                let topics = subscriptions(cli);
                for t in &topics {
                    self.socket().subscribe(t.as_bytes()).map_err(failed)?;
                }
                self.receive(cli.count, cli.recv_timeout)
            }
            Xsub => {
                for t in subscriptions(cli) {
                    let m = [&[1u8][..], t.as_bytes()].concat();
                    self.socket().send(m).map_err(failed)?;
                }
                self.receive(cli.count, cli.recv_timeout)
            }
            Pull => self.receive(cli.count, cli.recv_timeout),
            Rep => self.serve(cli, payload.as_deref()),
            Req => {
                let frames = payload.unwrap_or_default();
                self.pause(cli.delay)?;
                for i in 0..cli.count.unwrap_or(1) {
                    if i > 0 {
                        self.pause(cli.interval)?;
                    }
                    self.send(&frames, ty)?;
                    self.receive(Some(1), cli.recv_timeout)?;
                }
                Ok(())
            }
            Push | Pub => self.publish(cli, &payload.unwrap_or_default(), ty),
            Xpub => match payload {
                Some(frames) => self.publish(cli, &frames, ty),
                None => self.receive(cli.count, cli.recv_timeout),
            },
            Dealer | Router | Pair => match payload {
                Some(frames) => {
                    let n = cli.count.unwrap_or(1);
                    self.publish(cli, &frames, ty)?;
                    self.receive(Some(n), cli.recv_timeout)
                }
                None => self.receive(cli.count, cli.recv_timeout),
            },
            _ => Err(Stop::Usage(format!("--{} is not supported", flag(ty)))),
        }
    }

    /// Sends `frames` --count times (default once), after --delay and every --interval;
    /// while waiting, prints what arrives (an XPUB's subscriptions).
    fn publish(&mut self, cli: &Cli, frames: &[Vec<u8>], ty: SocketType) -> Outcome<()> {
        let prints = ty == SocketType::Xpub;
        self.wait(cli.delay, prints)?;
        for i in 0..cli.count.unwrap_or(1) {
            if i > 0 {
                self.wait(cli.interval, prints)?;
            }
            self.send(frames, ty)?;
        }
        if prints {
            self.drain()?;
        }
        Ok(())
    }

    /// REP: each request printed, answered with `reply` or echoed; --count requests.
    fn serve(&mut self, cli: &Cli, reply: Option<&[Vec<u8>]>) -> Outcome<()> {
        let mut served = 0;
        while cli.count.is_none_or(|n| served < n) {
            let request = self.next(cli.recv_timeout)?;
            self.print(&request)?;
            let answer: Vec<Vec<u8>> = match reply {
                Some(r) => r.to_vec(),
                None => request.iter().map(|m| m.to_vec()).collect(),
            };
            self.send(&answer, SocketType::Rep)?;
            served += 1;
        }
        Ok(())
    }

    fn send(&mut self, frames: &[Vec<u8>], ty: SocketType) -> Outcome<()> {
        let deadline = self.socket().options().sndtimeo.map(|t| Instant::now() + t);
        loop {
            let n = frames.len().max(1);
            let parts = (0..n).map(|i| {
                let body = frames.get(i).cloned().unwrap_or_default();
                Msg::from(body).with_more(i + 1 < n)
            });
            let mut result = Ok(());
            for p in parts {
                result = self.socket().send_msg(p, false);
                if result.is_err() {
                    break;
                }
            }
            match result {
                Ok(()) => {
                    self.sent = true;
                    return Ok(());
                }
                // ROUTER_MANDATORY: the peer named is not connected (yet): wait for it, as
                // long as --send-timeout allows.
                Err(Error::HostUnreachable) if ty == SocketType::Router => {
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        return Err(Stop::Failed(format!(
                            "no peer with routing id {:?} connected in time",
                            String::from_utf8_lossy(&frames[0])
                        )));
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(Error::WouldBlock) => {
                    return Err(Stop::Failed("the send timed out (--send-timeout)".into()));
                }
                Err(e) => return Err(failed(e)),
            }
        }
    }

    /// Receives and prints `count` messages (`None`: until interrupted).
    fn receive(&mut self, count: Option<u64>, timeout: Option<Duration>) -> Outcome<()> {
        let mut got = 0;
        while count.is_none_or(|n| got < n) {
            let m = self.next(timeout)?;
            self.print(&m)?;
            got += 1;
        }
        Ok(())
    }

    /// The next whole message, waiting up to `timeout` (the socket's RCVTIMEO).
    fn next(&mut self, timeout: Option<Duration>) -> Outcome<Vec<Msg>> {
        match self.socket().recv_multipart() {
            Ok(m) => Ok(m.iter().cloned().collect()),
            Err(Error::WouldBlock) => Err(Stop::Failed(format!(
                "no message within {} s (--recv-timeout)",
                timeout.unwrap_or_default().as_secs_f64()
            ))),
            Err(e) => Err(failed(e)),
        }
    }

    /// Waits `d` (nothing if `None`), printing what arrives meanwhile if `prints`.
    fn wait(&mut self, d: Option<Duration>, prints: bool) -> Outcome<()> {
        let Some(d) = d else { return Ok(()) };
        if !prints {
            return self.pause(Some(d));
        }
        let end = Instant::now() + d;
        let saved = self.socket().options().rcvtimeo;
        let r = loop {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break Ok(());
            }
            self.socket().set_rcvtimeo(Some(left));
            match self.socket().recv_multipart() {
                Ok(m) => {
                    let m: Vec<Msg> = m.iter().cloned().collect();
                    if let Err(e) = self.print(&m) {
                        break Err(e);
                    }
                }
                Err(Error::WouldBlock) => break Ok(()),
                Err(e) => break Err(failed(e)),
            }
        };
        self.socket().set_rcvtimeo(saved);
        r
    }

    /// Sleeps `d`, in slices, so that an interrupt during it ends fmqcat promptly.
    fn pause(&mut self, d: Option<Duration>) -> Outcome<()> {
        let Some(d) = d else { return Ok(()) };
        let end = Instant::now() + d;
        loop {
            if INTERRUPTED.load(Ordering::Acquire) {
                return Err(failed(Error::Terminated));
            }
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            std::thread::sleep(left.min(Duration::from_millis(20)));
        }
    }

    /// Prints what has arrived already, without waiting.
    fn drain(&mut self) -> Outcome<()> {
        loop {
            match self.socket().recv_msg(true) {
                Ok(first) => {
                    let mut m = vec![first];
                    while m.last().is_some_and(Msg::more) {
                        m.push(self.socket().recv_msg(false).map_err(failed)?);
                    }
                    self.print(&m)?;
                }
                Err(Error::WouldBlock | Error::NotSupported) => return Ok(()),
                Err(e) => return Err(failed(e)),
            }
        }
    }

    fn print(&mut self, m: &[Msg]) -> Outcome<()> {
        self.buf.clear();
        let frames: Vec<&[u8]> = m.iter().map(|p| &p[..]).collect();
        format::render(self.format, &frames, &mut self.buf);
        // A closed stdout (`fmqcat ... | head -1`) ends fmqcat quietly.
        self.out.write_all(&self.buf).map_err(|_| Stop::Quiet)?;
        self.out.flush().map_err(|_| Stop::Quiet)
    }
}

fn subscriptions(cli: &Cli) -> Vec<String> {
    if cli.subscribe.is_empty() { vec![String::new()] } else { cli.subscribe.clone() }
}

/// An interrupt shows as the context's termination: a clean exit. Anything else fails.
fn failed(e: Error) -> Stop {
    match e {
        Error::Terminated => refused().map_or(Stop::Quiet, Stop::Failed),
        e => Stop::Failed(e.to_string()),
    }
}

/// A tcp host name that does not resolve fails now (exit status 1), where a socket would
/// keep retrying it quietly.
fn resolves(ep: &str) -> Outcome<()> {
    use std::net::ToSocketAddrs;
    let Ok(Endpoint::Tcp { host: Host::Name(host), port }) = ep.parse::<Endpoint>() else {
        return Ok(());
    };
    let port = if let Port::Number(p) = port { p } else { 0 };
    match (host.as_str(), port).to_socket_addrs() {
        Ok(addrs) if addrs.len() > 0 => Ok(()),
        _ => Err(Stop::Failed(format!("{ep}: host {host:?} does not resolve"))),
    }
}

/// The monitor's reader: prints events with `--verbose`, and ends fmqcat when a peer it
/// connected to refuses it.
struct Watch {
    verbose: bool,
    connects: Vec<String>,
    ctx: Context,
}

impl Watch {
    /// Records a handshake's outcome with a peer fmqcat connected to.
    fn settle(&self, endpoint: &str, refusal: Option<String>) {
        if !self.connects.iter().any(|c| c == endpoint) {
            return;
        }
        let mut h = handshakes();
        h.settled.push(endpoint.to_owned());
        if let Some(why) = refusal {
            h.refused.get_or_insert(why);
            // Ends blocked calls; on a thread of its own, since it waits for the socket, whose
            // events this thread must keep reading.
            let ctx = self.ctx.clone();
            std::thread::spawn(move || ctx.term());
        }
        HANDSHAKES.1.notify_all();
    }

    fn run(self, m: &ferromq::Monitor) {
        use ferromq::MonitorEvent as E;
        use ferromq::proto::CloseReason;
        loop {
            let Some(e) = m.recv_timeout(Duration::from_secs(3600)) else { continue };
            let line = match e {
                E::Listening { endpoint } => format!("listening {endpoint}"),
                E::BindFailed { endpoint, error } => format!("bind to {endpoint} failed: {error}"),
                E::Accepted { endpoint } => format!("accepted on {endpoint}"),
                E::AcceptFailed { endpoint, error } => {
                    format!("accept on {endpoint} failed: {error}")
                }
                E::Connected { endpoint } => format!("connected to {endpoint}"),
                E::HandshakeSucceeded { endpoint } => {
                    self.settle(&endpoint, None);
                    format!("handshake done with {endpoint}")
                }
                E::HandshakeFailed { endpoint, reason } => {
                    let refusal =
                        matches!(reason, CloseReason::Protocol(_) | CloseReason::PeerError(_));
                    let why = format!("{endpoint} refused the connection: {reason}");
                    self.settle(&endpoint, refusal.then_some(why));
                    format!("handshake with {endpoint} failed: {reason}")
                }
                E::Disconnected { endpoint, reason } => {
                    format!("disconnected from {endpoint}: {reason}")
                }
                E::Closed { endpoint } => format!("closed {endpoint}"),
                E::MonitorStopped => return,
                // Connect delays and retries are noise for a shell user.
                _ => continue,
            };
            if self.verbose {
                eprintln!("fmqcat: {line}");
            }
        }
    }
}
