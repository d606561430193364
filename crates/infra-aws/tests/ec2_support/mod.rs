//! What the EC2 tests share: provider settings for a local AWS.

use infra_aws::ec2::Ec2Settings;
use infra_aws::waiter::Polling;
use std::time::Duration;

/// Settings for a local AWS: short waits, no heartbeats.
pub fn settings() -> Ec2Settings {
    Ec2Settings {
        consistency_window: Duration::from_secs(1),
        polling: Polling {
            initial_interval: Duration::from_millis(10),
            max_interval: Duration::from_millis(50),
            heartbeat_every: Duration::from_secs(60),
        },
        heartbeats: None,
        ..Ec2Settings::default()
    }
}
