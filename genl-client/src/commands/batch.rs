//! Running a batch file: every line is checked first (nothing runs if one is
//! malformed, unless `--force`), then runs of simdev requests (friendly
//! commands, and the YNL grammar's `--family simdev --do|--dump`) are
//! pipelined and the other commands (controller, `fw flash`, `monitor`, the
//! rest of the YNL grammar) run one at a time between them, in line order.
//!
//! Stop-at-first-failure is exact even with requests in flight: every
//! request carries the run's `batch` id, and the simulator answers
//! `ECANCELED` (without running them) to requests of a batch that already
//! failed on this socket. Those lines, and the later ones never sent, are
//! reported as skipped: with `-j`, every line gets exactly one record,
//! whatever the window.

use super::plan::{plan_line, Action};
use super::render::{render, reply_json};
use super::Output;
use crate::batch::{parse_batch, BatchLine};
use crate::cli::BatchCommand;
use crate::simdev::{Call, SimdevClient};
use clap::Parser;
use nix::errno::Errno;
use simdev_netlink::client::{Reply, Target};
use simdev_netlink::error::{Error, Result};
use simdev_netlink::pipeline::{Flow, Pipelined};
use simdev_protocol::simdev::DEV_ATTRS;
use std::collections::BTreeSet;
use std::io::Read;

#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub force: bool,
    pub window: usize,
    pub output: Output,
}

/// Reads `file` (`-`: stdin) and runs it; fails if any line failed.
pub fn run_file(target: Target, file: &str, options: Options) -> Result<()> {
    let (name, text) = if file == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(|e| Error::io("reading the batch from stdin", e))?;
        ("-".to_string(), text)
    } else {
        let text = std::fs::read_to_string(file).map_err(|e| Error::Usage(format!("{file}: {e}")))?;
        (file.to_string(), text)
    };
    let lines = parse_batch(&text).map_err(|e| Error::Usage(format!("{name}:{}: {}", e.line, e.message)))?;
    let failed = Runner::new(target, name, options).run(&lines)?;
    if failed > 0 {
        return Err(Error::BatchFailed(failed));
    }
    Ok(())
}

/// A line's parsed command, or why it could not be parsed.
type Parsed = std::result::Result<BatchCommand, String>;

struct Runner {
    target: Target,
    name: String,
    options: Options,
    failed: usize,
    skipped: usize,
    stopped: bool,
    /// The lines reported so far (by line number), so that each line gets
    /// one report.
    reported: BTreeSet<usize>,
    /// The id the simulator uses to skip the rest after a failure.
    batch_id: Option<u32>,
}

impl Runner {
    fn new(target: Target, name: String, options: Options) -> Self {
        let batch_id = (!options.force).then(random_batch_id);
        Runner { target, name, options, failed: 0, skipped: 0, stopped: false, reported: BTreeSet::new(), batch_id }
    }

    /// Runs the lines; returns how many failed.
    fn run(mut self, lines: &[BatchLine]) -> Result<usize> {
        let parsed: Vec<Parsed> = lines
            .iter()
            .map(|l| BatchCommand::try_parse_from(&l.words).map_err(|e| first_line(&e.to_string())))
            .collect();
        let mut planned = Vec::new();
        for (line, command) in lines.iter().zip(&parsed) {
            match command.as_ref().map_err(Clone::clone).and_then(|c| plan_line(c).map_err(|e| e.to_string())) {
                Ok(action) => planned.push((line, action)),
                Err(message) => {
                    self.report_failure(line, nix::errno::Errno::EINVAL, &message, None);
                    if !self.options.force {
                        return Ok(self.failed); // nothing ran: the file is fixed first
                    }
                }
            }
        }
        let mut sim: Option<SimdevClient> = None;
        let mut run_of_calls: Vec<(&BatchLine, Call)> = Vec::new();
        let lines_to_run: Vec<&BatchLine> = planned.iter().map(|(line, _)| *line).collect();
        for (line, action) in planned {
            if self.stopped {
                break;
            }
            match action {
                Action::Call(call) => run_of_calls.push((line, call)),
                other => {
                    self.pipeline(&mut sim, std::mem::take(&mut run_of_calls))?;
                    if !self.stopped {
                        self.run_alone(line, other);
                    }
                }
            }
        }
        self.pipeline(&mut sim, run_of_calls)?;
        if self.stopped {
            for line in lines_to_run {
                if !self.reported.contains(&line.line) {
                    self.report_skipped(line);
                }
            }
        }
        if self.skipped > 0 && !self.options.output.json {
            eprintln!("{}: {} line(s) after the failure were skipped, not run", self.name, self.skipped);
        }
        Ok(self.failed)
    }

    /// A line not run because an earlier one failed (in flight and
    /// cancelled by the simulator, or never sent).
    fn report_skipped(&mut self, line: &BatchLine) {
        self.reported.insert(line.line);
        self.skipped += 1;
        if self.options.output.json {
            let value = serde_json::json!({"line": line.line, "command": line.text, "ok": false, "skipped": true});
            self.options.output.print_json(&value);
        }
    }

    /// Sends a run of simdev requests through the pipeline.
    fn pipeline(&mut self, sim: &mut Option<SimdevClient>, calls: Vec<(&BatchLine, Call)>) -> Result<()> {
        if calls.is_empty() || self.stopped {
            return Ok(());
        }
        if sim.is_none() {
            *sim = Some(SimdevClient::connect(self.target)?);
        }
        let sim = sim.as_mut().unwrap();
        let requests = calls
            .iter()
            .map(|(_, call)| Ok(Pipelined { request: sim.batch_request(call, self.batch_id)?, dump: call.is_dump() }))
            .collect::<Result<Vec<_>>>()?;
        sim.client().pipeline(requests, self.options.window, Some(&DEV_ATTRS), |index, outcome| {
            let (line, call) = &calls[index];
            self.complete(line, call, outcome)
        })
    }

    /// Reports one finished request; says whether to go on.
    fn complete(&mut self, line: &BatchLine, call: &Call, outcome: Result<Vec<Reply>>) -> Flow {
        match outcome {
            Ok(replies) => {
                if let Err(e) = self.report_success(line, call, &replies) {
                    self.report_error(line, &e);
                }
            }
            Err(Error::Netlink { errno: Errno::ECANCELED, ref message, .. })
                if self.batch_id.is_some() && message.as_deref().is_some_and(|m| m.starts_with("skipped:")) =>
            {
                self.report_skipped(line)
            }
            Err(e) => self.report_error(line, &e),
        }
        if self.stopped {
            Flow::Stop
        } else {
            Flow::Continue
        }
    }

    fn report_success(&mut self, line: &BatchLine, call: &Call, replies: &[Reply]) -> Result<()> {
        let output = self.options.output;
        if output.json {
            let reply = reply_json(call, replies)?;
            self.report_json_success(line, reply);
            Ok(())
        } else {
            self.reported.insert(line.line);
            render(call, replies, output)
        }
    }

    /// `{"line", "command", "ok": true, "reply"}`.
    fn report_json_success(&mut self, line: &BatchLine, reply: serde_json::Value) {
        self.reported.insert(line.line);
        let record = serde_json::json!({"line": line.line, "command": line.text, "ok": true, "reply": reply});
        self.options.output.print_json(&record);
    }

    /// Runs a command that is not a single request (after the pipeline drained).
    fn run_alone(&mut self, line: &BatchLine, action: Action<'_>) {
        let output = self.options.output;
        let result = match action {
            Action::Ctrl(command) => super::ctrl::run(self.target, command, output),
            Action::Devlink(command) => super::devlink::run(self.target, command, output),
            Action::Ethtool(command) => super::ethtool::run(self.target, command, output),
            Action::FwFlash(dev, image) => {
                SimdevClient::connect(self.target).and_then(|mut sim| super::fw::flash(&mut sim, &dev, &image, output))
            }
            Action::Monitor(groups, timestamp) => super::monitor::run(self.target, groups, timestamp, output),
            Action::Decode(files, specs) => super::decode::run(files, specs, output),
            Action::Exec { .. } => Err(simdev_netlink::error::Error::Usage(
                "exec runs a program in genl-client's place: not in a batch".into(),
            )),
            // With -j the answers go into the line's record.
            Action::Ynl(args, family) if output.json && !args.list_ops => {
                let mut documents = Vec::new();
                match super::ynl::answers(self.target, args, &family, |d| documents.push(d)) {
                    Ok(()) => {
                        let reply = match documents.len() {
                            0 => serde_json::Value::Null,
                            1 => documents.remove(0).to_json(),
                            _ => documents.iter().map(|d| d.to_json()).collect(),
                        };
                        return self.report_json_success(line, reply);
                    }
                    Err(e) => Err(e),
                }
            }
            Action::Ynl(args, family) => super::ynl::run_with(self.target, args, &family, output),
            Action::Call(_) => unreachable!("calls are pipelined"),
        };
        match result {
            Ok(()) if output.json => self.report_json_success(line, serde_json::Value::Null),
            Ok(()) => {
                self.reported.insert(line.line);
            }
            Err(e) => self.report_error(line, &e),
        }
    }

    fn report_error(&mut self, line: &BatchLine, error: &Error) {
        let errno = error.errno().unwrap_or(nix::errno::Errno::EIO);
        match error {
            Error::Netlink { message, attribute, .. } => {
                let text = message.clone().unwrap_or_else(|| simdev_protocol::errno::strerror(errno as i32));
                self.report_failure(line, errno, &text, attribute.as_deref());
            }
            other => self.report_failure(line, errno, &other.to_string(), None),
        }
    }

    /// `FILE:LINE: <command>: <errno name>: <extack message>`, or a JSON line.
    fn report_failure(&mut self, line: &BatchLine, errno: nix::errno::Errno, message: &str, attribute: Option<&str>) {
        self.reported.insert(line.line);
        self.failed += 1;
        if !self.options.force {
            self.stopped = true;
        }
        let output = self.options.output;
        if output.json {
            output.print_json(&serde_json::json!({
                "line": line.line, "command": line.text, "ok": false,
                "errno": format!("{errno:?}"), "code": errno as i32, "message": message, "attribute": attribute,
            }));
        } else {
            let attribute = attribute.map(|a| format!(" [attribute: {a}]")).unwrap_or_default();
            eprintln!("{}:{}: {}: {errno:?}: {message}{attribute}", self.name, line.line, line.text);
        }
    }
}

/// The first line of a clap error, without its "error: " prefix.
fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().trim_start_matches("error: ").to_string()
}

fn random_batch_id() -> u32 {
    let mut bytes = [0u8; 4];
    // SAFETY: getrandom writes at most the buffer's length.
    let n = unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), 4, 0) };
    let id = if n == 4 { u32::from_ne_bytes(bytes) } else { std::process::id() };
    id.max(1)
}
