//! Running a batch file: every line is checked first (nothing runs if one is
//! malformed, unless `--force`), then runs of simdev requests are pipelined
//! and the other commands (controller, `fw flash`, `monitor`) run one at a
//! time between them, in line order.
//!
//! Stop-at-first-failure is exact even with requests in flight: every
//! request carries the run's `batch` id, and the simulator answers
//! `ECANCELED` (without running them) to requests of a batch that already
//! failed on this socket. Those lines are reported as skipped.

use super::plan::{plan, Action};
use super::render::{render, reply_json};
use super::Output;
use crate::batch::{parse_batch, BatchLine};
use crate::cli::BatchCommand;
use crate::client::{Reply, Target};
use crate::error::{Error, Result};
use crate::pipeline::{Flow, Pipelined};
use crate::simdev::{Call, SimdevClient};
use clap::Parser;
use nix::errno::Errno;
use simdev_protocol::simdev::{dev_attr, DEV_ATTRS};
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
    /// The id the simulator uses to skip the rest after a failure.
    batch_id: Option<u32>,
}

impl Runner {
    fn new(target: Target, name: String, options: Options) -> Self {
        let batch_id = (!options.force).then(random_batch_id);
        Runner { target, name, options, failed: 0, skipped: 0, stopped: false, batch_id }
    }

    /// Runs the lines; returns how many failed.
    fn run(mut self, lines: &[BatchLine]) -> Result<usize> {
        let parsed: Vec<Parsed> = lines
            .iter()
            .map(|l| BatchCommand::try_parse_from(&l.words).map_err(|e| first_line(&e.to_string())))
            .collect();
        let mut planned = Vec::new();
        for (line, command) in lines.iter().zip(&parsed) {
            match command.as_ref().map_err(Clone::clone).and_then(|c| plan(&c.object).map_err(|e| e.to_string())) {
                Ok(action) => planned.push((line, action)),
                Err(message) => {
                    self.report_failure(line, "EINVAL", &message, None);
                    if !self.options.force {
                        return Ok(self.failed); // nothing ran: the file is fixed first
                    }
                }
            }
        }
        let mut sim: Option<SimdevClient> = None;
        let mut run_of_calls: Vec<(&BatchLine, Call)> = Vec::new();
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
        if self.skipped > 0 && !self.options.output.json {
            eprintln!("{}: {} line(s) in flight after the failure were skipped, not run", self.name, self.skipped);
        }
        Ok(self.failed)
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
        let requests: Vec<Pipelined> = calls
            .iter()
            .map(|(_, call)| {
                let mut request = sim.call_request(call);
                if let Some(id) = self.batch_id {
                    request.put_u32(dev_attr::BATCH, id);
                }
                Pipelined { request, dump: call.is_dump() }
            })
            .collect();
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
                self.skipped += 1;
                if self.options.output.json {
                    let value =
                        serde_json::json!({"line": line.line, "command": line.text, "ok": false, "skipped": true});
                    self.options.output.print_json(&value);
                }
            }
            Err(e) => self.report_error(line, &e),
        }
        if self.stopped {
            Flow::Stop
        } else {
            Flow::Continue
        }
    }

    fn report_success(&self, line: &BatchLine, call: &Call, replies: &[Reply]) -> Result<()> {
        let output = self.options.output;
        if output.json {
            let reply = reply_json(call, replies)?;
            output
                .print_json(&serde_json::json!({"line": line.line, "command": line.text, "ok": true, "reply": reply}));
            Ok(())
        } else {
            render(call, replies, output)
        }
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
            Action::Monitor(groups) => super::monitor::run(self.target, groups, output),
            Action::Call(_) => unreachable!("calls are pipelined"),
        };
        match result {
            Ok(()) if output.json => {
                output.print_json(&serde_json::json!({"line": line.line, "command": line.text, "ok": true}))
            }
            Ok(()) => {}
            Err(e) => self.report_error(line, &e),
        }
    }

    fn report_error(&mut self, line: &BatchLine, error: &Error) {
        match error {
            Error::Netlink { errno, message, attribute, .. } => {
                let text = message.clone().unwrap_or_else(|| errno.desc().to_string());
                self.report_failure(line, &format!("{errno:?}"), &text, attribute.as_deref());
            }
            other => {
                let errno = other.errno().map_or("EIO".to_string(), |e| format!("{e:?}"));
                self.report_failure(line, &errno, &other.to_string(), None);
            }
        }
    }

    /// `FILE:LINE: <command>: <errno name>: <extack message>`, or a JSON line.
    fn report_failure(&mut self, line: &BatchLine, errno: &str, message: &str, attribute: Option<&str>) {
        self.failed += 1;
        if !self.options.force {
            self.stopped = true;
        }
        let output = self.options.output;
        if output.json {
            output.print_json(&serde_json::json!({
                "line": line.line, "command": line.text, "ok": false,
                "errno": errno, "message": message, "attribute": attribute,
            }));
        } else {
            let attribute = attribute.map(|a| format!(" [attribute: {a}]")).unwrap_or_default();
            eprintln!("{}:{}: {}: {errno}: {message}{attribute}", self.name, line.line, line.text);
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
