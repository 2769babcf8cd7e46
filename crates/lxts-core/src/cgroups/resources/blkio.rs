//! `linux.resources.blockIO`: v1 `blkio.*`, v2 `io.weight`/`io.bfq.weight`/`io.max`.

use super::{field_error, write, Target};
use crate::plan::{BlockIoResources, ThrottleDevice};
use crate::Result;

pub(super) fn apply(t: &Target, b: &BlockIoResources) -> Result<()> {
    if *b == BlockIoResources::default() {
        return Ok(());
    }
    for (name, w) in [("weight", b.weight), ("leafWeight", b.leaf_weight)] {
        if let Some(w) = w.filter(|w| *w != 0 && !(10..=1000).contains(w)) {
            return Err(field_error(&format!("blockIO.{name}"), format!("{w} is out of range 10-1000")));
        }
    }
    if t.v2 {
        v2(t, b)
    } else {
        v1(t, b)
    }
}

fn throttles(b: &BlockIoResources) -> [(&[ThrottleDevice], &'static str, &'static str, &'static str); 4] {
    [
        (&b.throttle_read_bps_device, "blkio.throttle.read_bps_device", "rbps", "blockIO.throttleReadBpsDevice"),
        (&b.throttle_write_bps_device, "blkio.throttle.write_bps_device", "wbps", "blockIO.throttleWriteBpsDevice"),
        (&b.throttle_read_iops_device, "blkio.throttle.read_iops_device", "riops", "blockIO.throttleReadIOPSDevice"),
        (&b.throttle_write_iops_device, "blkio.throttle.write_iops_device", "wiops", "blockIO.throttleWriteIOPSDevice"),
    ]
}

fn v1(t: &Target, b: &BlockIoResources) -> Result<()> {
    let dir = t.v1_dir("blkio", "blockIO")?;
    // CFQ's blkio.weight is gone with the legacy block layer; BFQ offers blkio.bfq.weight.
    let weight_file = if dir.join("blkio.weight").exists() { "blkio.weight" } else { "blkio.bfq.weight" };
    if let Some(w) = b.weight.filter(|w| *w != 0) {
        write(dir, weight_file, &w.to_string(), "blockIO.weight")?;
    }
    if let Some(w) = b.leaf_weight.filter(|w| *w != 0) {
        write(dir, "blkio.leaf_weight", &w.to_string(), "blockIO.leafWeight")?;
    }
    for (i, d) in b.weight_device.iter().enumerate() {
        if let Some(w) = d.weight {
            write(
                dir,
                &format!("{weight_file}_device"),
                &format!("{}:{} {w}", d.major, d.minor),
                &format!("blockIO.weightDevice[{i}].weight"),
            )?;
        }
        if let Some(w) = d.leaf_weight {
            write(
                dir,
                "blkio.leaf_weight_device",
                &format!("{}:{} {w}", d.major, d.minor),
                &format!("blockIO.weightDevice[{i}].leafWeight"),
            )?;
        }
    }
    for (list, file, _, field) in throttles(b) {
        for (i, d) in list.iter().enumerate() {
            write(dir, file, &format!("{}:{} {}", d.major, d.minor, d.rate), &format!("{field}[{i}]"))?;
        }
    }
    Ok(())
}

/// runc's blkio weight (10-1000) → io.weight (1-10000).
pub fn weight_to_io(w: u16) -> u64 {
    1 + (u64::from(w).saturating_sub(10) * 9999) / 990
}

fn v2(t: &Target, b: &BlockIoResources) -> Result<()> {
    let dir = t.v2_dir("blockIO")?;
    let bfq = dir.join("io.bfq.weight").exists();
    if let Some(w) = b.weight.filter(|w| *w != 0) {
        if bfq {
            write(dir, "io.bfq.weight", &w.to_string(), "blockIO.weight")?;
        } else {
            write(dir, "io.weight", &format!("default {}", weight_to_io(w)), "blockIO.weight")?;
        }
    }
    if b.leaf_weight.is_some_and(|w| w != 0) {
        return Err(field_error("blockIO.leafWeight", "leaf weights do not exist on cgroup v2".to_owned()));
    }
    for (i, d) in b.weight_device.iter().enumerate() {
        if let Some(w) = d.weight {
            let (file, v) = if bfq { ("io.bfq.weight", u64::from(w)) } else { ("io.weight", weight_to_io(w)) };
            write(dir, file, &format!("{}:{} {v}", d.major, d.minor), &format!("blockIO.weightDevice[{i}].weight"))?;
        }
    }
    for (list, _, key, field) in throttles(b) {
        for (i, d) in list.iter().enumerate() {
            write(dir, "io.max", &format!("{}:{} {key}={}", d.major, d.minor, d.rate), &format!("{field}[{i}]"))?;
        }
    }
    Ok(())
}
