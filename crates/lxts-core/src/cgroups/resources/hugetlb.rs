//! `linux.resources.hugepageLimits`: v1 `hugetlb.<size>.limit_in_bytes`, v2 `hugetlb.<size>.max`.

use super::{field_error, write, Target};
use crate::plan::HugepageLimit;
use crate::Result;

/// A page size as the kernel names it in hugetlb files: digits then `KB`, `MB` or `GB`.
pub(super) fn valid_page_size(s: &str) -> bool {
    let digits = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &s[digits.len()..];
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0') && matches!(unit, "KB" | "MB" | "GB")
}

pub(super) fn apply(t: &Target, limits: &[HugepageLimit]) -> Result<()> {
    if limits.is_empty() {
        return Ok(());
    }
    let dir = if t.v2 { t.v2_dir("hugepageLimits")? } else { t.v1_dir("hugetlb", "hugepageLimits")? };
    for (i, l) in limits.iter().enumerate() {
        let field = format!("hugepageLimits[{i}].pageSize");
        if !valid_page_size(&l.page_size) {
            return Err(field_error(&field, format!("{:?} is not a page size (like 2MB or 1GB)", l.page_size)));
        }
        let file = if t.v2 { format!("hugetlb.{}.max", l.page_size) } else { format!("hugetlb.{}.limit_in_bytes", l.page_size) };
        if !dir.join(&file).exists() {
            return Err(field_error(
                &field,
                format!("this host has no {} huge pages ({} missing)", l.page_size, dir.join(&file).display()),
            ));
        }
        write(dir, &file, &l.limit.to_string(), &format!("hugepageLimits[{i}].limit"))?;
    }
    Ok(())
}
