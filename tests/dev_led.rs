//! `dev-led-set`, the operation added to show what adding one takes: its
//! spec entry, its handler, the model's LED state, this test. Driven
//! through the spec-driven client, and the friendly `port led` made later.

use simdev_tests::Simulator;

const CONFIG: &str = "[[device]]\nname = \"led0\"\nports = 2\n";

fn run(sim: &Simulator, args: &[&str]) -> (Option<i32>, serde_json::Value) {
    let out = sim.cli(&[&["-j", "--family", "simdev"], args].concat());
    let value = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code(), value)
}

fn leds(sim: &Simulator) -> Vec<String> {
    let (code, dev) = run(sim, &["--do", "dev-get", "--json", r#"{"dev-name": "led0"}"#]);
    assert_eq!(code, Some(0), "{dev}");
    dev["port"].as_array().unwrap().iter().map(|p| p["led-state"].as_str().unwrap().to_string()).collect()
}

#[test]
fn a_ports_led_is_set_shown_and_announced() {
    let sim = Simulator::start(CONFIG);
    assert_eq!(leds(&sim), ["off", "off"], "off until set");
    // Subscribed before the change (the fixture's unicast subscription: no
    // time window to guess).
    let mut events = sim.inner.subscribe(&["config"]).unwrap();
    let set = r#"{"dev-name": "led0", "port-index": 1, "led-state": "blink"}"#;
    let (code, answer) = run(&sim, &["--do", "dev-led-set", "--json", set]);
    assert_eq!((code, answer), (Some(0), serde_json::Value::Null), "only ACKed");
    assert_eq!(leds(&sim), ["off", "blink"]);

    let led = events
        .wait_for(std::time::Duration::from_secs(10), |event| match event {
            simdev_testing::Event::DevChange { dev } => Some(dev.ports[1].led_state),
            _ => None,
        })
        .expect("a dev-change-ntf");
    assert_eq!(led, simdev_protocol::simdev::led_state::BLINK as u8);
}

#[test]
fn bad_led_requests_are_refused_by_the_specs_policy() {
    let sim = Simulator::start(CONFIG);
    let cases = [
        // Beyond the enum: its policy's maximum.
        (r#"{"dev-name": "led0", "port-index": 0, "led-state": 3}"#, "ERANGE", Some("led-state"), None),
        // Required by the spec.
        (r#"{"dev-name": "led0", "port-index": 0}"#, "EINVAL", None, Some("led-state")),
        (r#"{"dev-name": "led0", "port-index": 9, "led-state": "on"}"#, "ENODEV", Some("port-index"), None),
        // An attribute dev-led-set does not take.
        (r#"{"dev-name": "led0", "port-index": 0, "led-state": "on", "mtu": 1400}"#, "EINVAL", Some("mtu"), None),
    ];
    for (json, errno, attribute, missing) in cases {
        let (code, answer) = run(&sim, &["--do", "dev-led-set", "--json", json]);
        assert_eq!(code, Some(1), "{json}: {answer}");
        let error = &answer["error"];
        assert_eq!(error["errno"], errno, "{json}: {answer}");
        assert_eq!(error["attribute"].as_str(), attribute, "{json}: {answer}");
        assert_eq!(error["missing"].as_str(), missing, "{json}: {answer}");
    }
    assert_eq!(leds(&sim), ["off", "off"], "nothing refused changed anything");
}

/// The friendly command sets it (the same dev-led-set), and text `dev show`
/// has it on each port's line.
#[test]
fn port_led_sets_it_and_dev_show_prints_it() {
    let sim = Simulator::start(CONFIG);
    let out = sim.cli(&["port", "led", "led0", "0", "on"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty(), "only acknowledged: {}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(leds(&sim), ["on", "off"]);
    let show = String::from_utf8(sim.cli(&["dev", "show", "led0"]).stdout).unwrap();
    let lines: Vec<&str> = show.lines().filter(|l| l.trim_start().starts_with("port ")).collect();
    assert!(lines[0].contains(" led on ") && lines[1].contains(" led off "), "{show}");
    let bad = sim.cli(&["port", "led", "led0", "0", "dazzle"]);
    assert_eq!(bad.status.code(), Some(2), "not a led-state: a usage error");
}
