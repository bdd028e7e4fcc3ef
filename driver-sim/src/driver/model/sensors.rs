//! Sensors: a reading within a valid range, and alarm thresholds whose
//! crossing (either way) the device announces.

use crate::config::SensorConfig;
use simdev_protocol::policy::errno;
use simdev_protocol::simdev::SensorInfo;

#[derive(Debug, Clone)]
pub struct Sensor {
    pub info: SensorInfo,
}

/// What an injected reading changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    /// The alarm state flipped (raised or cleared).
    pub alarm_changed: bool,
}

impl Sensor {
    pub fn from_config(config: &SensorConfig) -> Self {
        let mut info = SensorInfo {
            name: config.name.get_ref().clone(),
            kind: config.kind.clone(),
            unit: config.unit.clone(),
            value: *config.value.get_ref(),
            min: config.min,
            max: config.max,
            alarm_low: config.alarm_low,
            alarm_high: config.alarm_high,
            alarm: false,
        };
        info.alarm = in_alarm(&info, info.value);
        Sensor { info }
    }

    /// Injects a reading; outside the valid range it is refused (`ERANGE`).
    pub fn set(&mut self, value: i64) -> Result<Reading, (i32, String)> {
        let info = &mut self.info;
        if !(info.min..=info.max).contains(&value) {
            return Err((
                errno::ERANGE,
                format!("sensor {}: {value} {} is outside {}..={}", info.name, info.unit, info.min, info.max),
            ));
        }
        let was = info.alarm;
        info.value = value;
        info.alarm = in_alarm(info, value);
        Ok(Reading { alarm_changed: was != info.alarm })
    }
}

fn in_alarm(info: &SensorInfo, value: i64) -> bool {
    info.alarm_low.is_some_and(|low| value < low) || info.alarm_high.is_some_and(|high| value > high)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DeviceConfig;

    fn sensor() -> Sensor {
        let device = DeviceConfig::parse(
            "name = \"s\"\n[[sensor]]\nname = \"temp\"\nkind = \"temperature\"\nunit = \"mC\"\nvalue = 40000\nmin = -40000\nmax = 125000\nalarm_high = 90000\n",
            "t",
        )
        .unwrap();
        Sensor::from_config(&device.sensors[0])
    }

    #[test]
    fn crossing_a_threshold_flips_the_alarm_both_ways() {
        let mut s = sensor();
        assert!(!s.info.alarm);
        assert_eq!(s.set(80000), Ok(Reading { alarm_changed: false }));
        assert_eq!(s.set(95000), Ok(Reading { alarm_changed: true }));
        assert!(s.info.alarm);
        assert_eq!(s.set(99000), Ok(Reading { alarm_changed: false }));
        assert_eq!(s.set(20000), Ok(Reading { alarm_changed: true }));
        assert!(!s.info.alarm);
    }

    #[test]
    fn readings_outside_the_range_are_refused() {
        let mut s = sensor();
        let (errno, message) = s.set(200000).unwrap_err();
        assert_eq!(errno, errno::ERANGE);
        assert!(message.contains("outside -40000..=125000"), "{message}");
        assert_eq!(s.info.value, 40000);
    }
}
