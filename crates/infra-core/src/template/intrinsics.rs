//! Intrinsic functions shared by template evaluation and apply-time resolution.

use crate::value::Value;
use std::net::{Ipv4Addr, Ipv6Addr};

/// `Fn::Cidr [ipBlock, count, cidrBits]`: `count` subnets with `cidrBits` host bits each,
/// carved from the start of `ipBlock`. `None` when the inputs are not known or not valid.
pub fn cidr(block: &Value, count: &Value, bits: &Value) -> Option<Value> {
    let block = block.as_str()?;
    let count = number_arg(count)?;
    let bits = number_arg(bits)?;
    let (addr, prefix) = block.split_once('/')?;
    let prefix: u32 = prefix.parse().ok()?;
    if let Ok(v4) = addr.parse::<Ipv4Addr>() {
        let new_prefix = 32u32.checked_sub(bits as u32)?;
        if prefix > 32 || new_prefix < prefix || count == 0 || count > 256 {
            return None;
        }
        let base = u32::from(v4) & (!0u32).checked_shl(32 - prefix).unwrap_or(0);
        let available = 1u64 << (new_prefix - prefix);
        if count > available {
            return None;
        }
        let step = 1u64 << bits;
        let out = (0..count)
            .map(|i| Value::String(format!("{}/{}", Ipv4Addr::from((base as u64 + i * step) as u32), new_prefix)))
            .collect();
        return Some(Value::List(out));
    }
    let v6 = addr.parse::<Ipv6Addr>().ok()?;
    let new_prefix = 128u32.checked_sub(bits as u32)?;
    if prefix > 128 || new_prefix < prefix || count == 0 || count > 256 {
        return None;
    }
    let base = u128::from(v6) & (!0u128).checked_shl(128 - prefix).unwrap_or(0);
    if new_prefix - prefix < 64 && count > (1u64 << (new_prefix - prefix)) {
        return None;
    }
    let step = 1u128.checked_shl(bits as u32)?;
    let out = (0..count as u128)
        .map(|i| Value::String(format!("{}/{}", Ipv6Addr::from(base + i * step), new_prefix)))
        .collect();
    Some(Value::List(out))
}

fn number_arg(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_v4() {
        let v =
            cidr(&Value::String("10.0.0.0/16".into()), &Value::String("3".into()), &Value::String("8".into())).unwrap();
        assert_eq!(v.to_json(), serde_json::json!(["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"]));
        assert!(cidr(&Value::String("10.0.0.0/30".into()), &Value::String("3".into()), &Value::String("1".into()))
            .is_none());
    }
}
