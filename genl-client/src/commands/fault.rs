//! `fault`: describing faults, and the arguments of `fault set`.

use super::args::Words;
use simdev_protocol::errno::{errno_name, parse_errno};
use simdev_protocol::simdev::{FaultInfo, PROBABILITY_ONE};

/// One line per fault, in the words `fault set` takes.
pub fn describe(f: &FaultInfo) -> String {
    let mut text = f.command.clone();
    if f.errno != 0 {
        text.push_str(&format!(" errno {}", errno_name(f.errno as i32)));
    }
    if let Some(count) = f.count {
        text.push_str(&format!(" count {count}"));
    }
    if let Some(p) = f.probability {
        text.push_str(&format!(" probability {}", f64::from(p) / f64::from(PROBABILITY_ONE)));
    }
    if f.delay_ms != 0 {
        text.push_str(&format!(" delay {}", f.delay_ms));
    }
    if let Some(fail_at) = f.fail_at {
        text.push_str(&format!(" fail-at {fail_at}"));
    }
    if let (Some(interval), Some(down), Some(port)) = (f.interval_ms, f.down_ms, f.port_index) {
        text.push_str(&format!(" interval {interval} down {down} port {port}"));
    }
    if let Some(reporter) = &f.reporter {
        text.push_str(&format!(" reporter {reporter}"));
    }
    text.push_str(&format!(" fired {}", f.fired));
    if let Some(knob) = &f.knob {
        text.push_str(&format!(" knob {knob}"));
    }
    text
}

/// `[errno E] [count N | probability P] [delay MS] [fail-at PCT] [interval MS down MS port N] [reporter NAME]`.
pub fn parse_fault(command: &str, args: &[String]) -> Result<FaultInfo, String> {
    let mut fault = FaultInfo { command: command.to_string(), ..Default::default() };
    let mut words = Words::new(args);
    while let Some(word) = words.next_key()? {
        match word {
            "errno" => {
                let text = words.value("errno")?;
                fault.errno =
                    parse_errno(text).ok_or_else(|| format!("`{text}` is not an errno (EIO, ENODEV, 5...)"))? as u32;
            }
            "count" => fault.count = Some(words.number("count")?),
            "probability" => {
                let p: f64 = words.number("probability")?;
                if !(p > 0.0 && p <= 1.0) {
                    return Err(format!("probability {p} is outside (0, 1]"));
                }
                fault.probability = Some((p * f64::from(PROBABILITY_ONE)).round() as u32);
            }
            "delay" => fault.delay_ms = words.number("delay")?,
            "fail-at" => fault.fail_at = Some(words.number("fail-at")?),
            "interval" => fault.interval_ms = Some(words.number("interval")?),
            "down" => fault.down_ms = Some(words.number("down")?),
            "port" => fault.port_index = Some(words.number("port")?),
            "reporter" => fault.reporter = Some(words.value("reporter")?.to_string()),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(fault)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn fault_arguments_parse_and_describe_back() {
        let f = parse_fault("dev-set", &words("errno EIO count 2 delay 50")).unwrap();
        assert_eq!((f.errno, f.count, f.delay_ms), (5, Some(2), 50));
        assert_eq!(describe(&f), "dev-set errno EIO count 2 delay 50 fired 0");
        let f = parse_fault("reg-set", &words("errno ebusy probability 0.25")).unwrap();
        assert_eq!(f.probability, Some(250_000));
        assert!(parse_fault("x", &words("errno ENOPE")).unwrap_err().contains("not an errno"));
        assert!(parse_fault("x", &words("probability 2")).is_err());
    }
}
