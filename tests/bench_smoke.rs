//! The benchmark keeps working: run with tiny sizes, it produces every
//! figure. (Timings are not checked here; they are the benchmark's job.)

use simdev_tests::{bin, TempFile};

#[test]
fn the_benchmark_runs_and_reports_every_figure() {
    let output = TempFile::with_contents("bench-json", "");
    let out = std::process::Command::new(bin("simdev-bench"))
        .args(["--smoke", "--output"])
        .arg(&output.0)
        .output()
        .expect("run simdev-bench");
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let figures: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&output.0).unwrap()).unwrap();
    for key in [
        "kernel_ctrl_rtt_us",
        "floor_rtt_us",
        "floor_pipelined_ops_s",
        "floor_bare_rtt_us",
        "sim_getfamily_rtt_us",
        "sim_dev_get_rtt_us",
        "sim_pipelined_ops_s",
        "veth_500_create_s",
        "ip_batch_500_create_s",
        "ip_batch_500_up_s",
        "rss_10k_mib",
        "stalled_rtt_ratio",
        "amplification_rss_mib",
        "probe_kernel_ctrl_rtt_us",
        "probe_direct_rtt_us",
        "probe_preload_rtt_us",
        "libmnl_kernel_rtt_us",
        "libmnl_exec_kernel_rtt_us",
        "libmnl_exec_sim_rtt_us",
        "libnl_kernel_rtt_us",
        "libnl_exec_kernel_rtt_us",
        "libnl_exec_sim_rtt_us",
        "pcap_overhead_ratio",
    ] {
        assert!(figures[key].as_f64().is_some_and(|v| v > 0.0), "{key} in {figures}");
    }
}
