//! The intrinsic functions: their names ([`Intrinsic`]), and one implementation of each function
//! that works on values, shared by template evaluation (at plan time) and by the resolution of
//! [`Expr`] (as resources are applied).
//!
//! Each function takes its arguments already evaluated. An argument that is only known after
//! apply makes the result an [`Expr`] of the same function, to be computed again when the
//! argument is known; a wrong argument is an [`IntrinsicError`], which evaluation reports as a
//! diagnostic at the function's key and resolution leaves unresolved.

use crate::value::{scalar_string, Expr, Value};
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// An intrinsic function (or condition or rule function), by its long-form name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Intrinsic {
    Ref,
    Condition,
    Base64,
    Cidr,
    Contains,
    EachMemberEquals,
    EachMemberIn,
    FindInMap,
    GetAtt,
    GetAZs,
    ImportValue,
    Join,
    Select,
    Split,
    Sub,
    Transform,
    And,
    Equals,
    If,
    Not,
    Or,
    RefAll,
    ValueOf,
    ValueOfAll,
    /// `Fn::Condition`, the long spelling of `Condition`.
    FnCondition,
    Length,
    ToJsonString,
}

impl Intrinsic {
    /// Every intrinsic; those with a YAML short form first, in the order tag suggestions
    /// consider them.
    pub const ALL: [Intrinsic; 27] = [
        Intrinsic::Ref,
        Intrinsic::Condition,
        Intrinsic::Base64,
        Intrinsic::Cidr,
        Intrinsic::Contains,
        Intrinsic::EachMemberEquals,
        Intrinsic::EachMemberIn,
        Intrinsic::FindInMap,
        Intrinsic::GetAtt,
        Intrinsic::GetAZs,
        Intrinsic::ImportValue,
        Intrinsic::Join,
        Intrinsic::Select,
        Intrinsic::Split,
        Intrinsic::Sub,
        Intrinsic::Transform,
        Intrinsic::And,
        Intrinsic::Equals,
        Intrinsic::If,
        Intrinsic::Not,
        Intrinsic::Or,
        Intrinsic::RefAll,
        Intrinsic::ValueOf,
        Intrinsic::ValueOfAll,
        Intrinsic::FnCondition,
        Intrinsic::Length,
        Intrinsic::ToJsonString,
    ];

    /// The long-form key: `Ref`, `Condition`, `Fn::Join`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Intrinsic::Ref => "Ref",
            Intrinsic::Condition => "Condition",
            Intrinsic::Base64 => "Fn::Base64",
            Intrinsic::Cidr => "Fn::Cidr",
            Intrinsic::Contains => "Fn::Contains",
            Intrinsic::EachMemberEquals => "Fn::EachMemberEquals",
            Intrinsic::EachMemberIn => "Fn::EachMemberIn",
            Intrinsic::FindInMap => "Fn::FindInMap",
            Intrinsic::GetAtt => "Fn::GetAtt",
            Intrinsic::GetAZs => "Fn::GetAZs",
            Intrinsic::ImportValue => "Fn::ImportValue",
            Intrinsic::Join => "Fn::Join",
            Intrinsic::Select => "Fn::Select",
            Intrinsic::Split => "Fn::Split",
            Intrinsic::Sub => "Fn::Sub",
            Intrinsic::Transform => "Fn::Transform",
            Intrinsic::And => "Fn::And",
            Intrinsic::Equals => "Fn::Equals",
            Intrinsic::If => "Fn::If",
            Intrinsic::Not => "Fn::Not",
            Intrinsic::Or => "Fn::Or",
            Intrinsic::RefAll => "Fn::RefAll",
            Intrinsic::ValueOf => "Fn::ValueOf",
            Intrinsic::ValueOfAll => "Fn::ValueOfAll",
            Intrinsic::FnCondition => "Fn::Condition",
            Intrinsic::Length => "Fn::Length",
            Intrinsic::ToJsonString => "Fn::ToJsonString",
        }
    }

    /// The intrinsic a long-form key names (exact spelling), if any.
    pub fn parse(name: &str) -> Option<Intrinsic> {
        Intrinsic::ALL.into_iter().find(|i| i.as_str() == name)
    }

    /// The YAML tag without its `!` (`Join` for `!Join`), for those that have one.
    pub fn short_form(self) -> Option<&'static str> {
        match self {
            Intrinsic::FnCondition | Intrinsic::Length | Intrinsic::ToJsonString => None,
            Intrinsic::Ref | Intrinsic::Condition => Some(self.as_str()),
            _ => self.as_str().strip_prefix("Fn::"),
        }
    }

    /// Whether a mapping key is written as a function call: `Fn::` and a name, known or not
    /// (an unknown one is reported as such).
    pub fn is_function_name(name: &str) -> bool {
        name.starts_with("Fn::")
    }

    /// The intrinsics YAML writes as tags (`!Join`), in the order tag suggestions consider them.
    pub fn short_forms() -> impl Iterator<Item = Intrinsic> {
        Intrinsic::ALL.into_iter().filter(|i| i.short_form().is_some())
    }

    /// The intrinsic a YAML tag (without its `!`) stands for.
    pub fn from_short_form(tag: &str) -> Option<Intrinsic> {
        Intrinsic::short_forms().find(|i| i.short_form() == Some(tag))
    }
}

impl fmt::Display for Intrinsic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A wrong argument of an intrinsic function. The message names the function and reads the
/// same at plan time (a diagnostic at the function's key) and at apply time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntrinsicError {
    pub function: Intrinsic,
    pub message: String,
}

impl IntrinsicError {
    fn new(function: Intrinsic, message: impl Into<String>) -> Self {
        IntrinsicError { function, message: message.into() }
    }
}

impl fmt::Display for IntrinsicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for IntrinsicError {}

pub type Result<T> = std::result::Result<T, IntrinsicError>;

fn later(e: Expr) -> Value {
    Value::Expr(Box::new(e))
}

/// A value as messages quote it: strings in double quotes, the rest as JSON.
pub fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => format!("\"{s}\""),
        other => other.to_json().to_string(),
    }
}

/// `Fn::Join [delimiter, list]`: the list's items as strings, joined. `list` is a list of
/// values, or a value only known after apply that will be one.
pub fn join(delimiter: &str, list: &Value) -> Result<Value> {
    let items = match list {
        Value::List(items) => items,
        Value::Expr(_) => return Ok(later(Expr::Join(delimiter.to_string(), list.clone()))),
        other => {
            return Err(IntrinsicError::new(
                Intrinsic::Join,
                format!("the second argument of `Fn::Join` must be a list, found {}", other.kind()),
            ))
        }
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Value::Expr(_) => return Ok(later(Expr::Join(delimiter.to_string(), list.clone()))),
            v => match scalar_string(v) {
                Some(s) => out.push(s),
                None => {
                    return Err(IntrinsicError::new(
                        Intrinsic::Join,
                        format!("`Fn::Join` can only join strings, found {}", v.kind()),
                    ))
                }
            },
        }
    }
    Ok(Value::String(out.join(delimiter)))
}

/// The index argument of `Fn::Select`: a non-negative integer, or a string holding one.
pub fn select_index(index: &Value) -> Result<usize> {
    let n = match index {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    n.and_then(|i| usize::try_from(i).ok()).ok_or_else(|| {
        IntrinsicError::new(
            Intrinsic::Select,
            format!("the index of `Fn::Select` must be a non-negative integer, found {}", shown(index)),
        )
    })
}

/// `Fn::Select [index, list]`: the item at `index`.
pub fn select(index: usize, list: &Value) -> Result<Value> {
    match list {
        Value::List(items) => items.get(index).cloned().ok_or_else(|| {
            IntrinsicError::new(
                Intrinsic::Select,
                format!("index {index} of `Fn::Select` is out of range for a list of {} items", items.len()),
            )
        }),
        Value::Expr(_) => Ok(later(Expr::Select(index, list.clone()))),
        other => Err(IntrinsicError::new(
            Intrinsic::Select,
            format!("the second argument of `Fn::Select` must be a list, found {}", other.kind()),
        )),
    }
}

/// The delimiter of `Fn::Split` must not be empty.
pub fn split_delimiter(delimiter: &str) -> Result<()> {
    if delimiter.is_empty() {
        return Err(IntrinsicError::new(Intrinsic::Split, "the delimiter of `Fn::Split` cannot be empty"));
    }
    Ok(())
}

/// `Fn::Split [delimiter, string]`: the list of the string's parts.
pub fn split(delimiter: &str, source: &Value) -> Result<Value> {
    split_delimiter(delimiter)?;
    match source {
        Value::String(s) => Ok(Value::List(s.split(delimiter).map(|p| Value::String(p.to_string())).collect())),
        Value::Expr(_) => Ok(later(Expr::Split(delimiter.to_string(), source.clone()))),
        other => Err(IntrinsicError::new(
            Intrinsic::Split,
            format!("the second argument of `Fn::Split` must be a string, found {}", other.kind()),
        )),
    }
}

/// `Fn::Base64 string`: the string's bytes in standard Base64.
pub fn base64(source: &Value) -> Result<Value> {
    match source {
        Value::String(s) => {
            use base64::Engine;
            Ok(Value::String(base64::engine::general_purpose::STANDARD.encode(s)))
        }
        Value::Expr(_) => Ok(later(Expr::Base64(source.clone()))),
        other => {
            Err(IntrinsicError::new(Intrinsic::Base64, format!("`Fn::Base64` takes a string, found {}", other.kind())))
        }
    }
}

/// `Fn::Cidr [ipBlock, count, cidrBits]`: `count` subnets with `cidrBits` host bits each,
/// carved from the start of `ipBlock`.
pub fn cidr(block: &Value, count: &Value, bits: &Value) -> Result<Value> {
    if !(block.is_known() && count.is_known() && bits.is_known()) {
        return Ok(later(Expr::Cidr(block.clone(), count.clone(), bits.clone())));
    }
    carve(block, count, bits).ok_or_else(|| {
        IntrinsicError::new(
            Intrinsic::Cidr,
            format!(
                "`Fn::Cidr` cannot carve {} subnets of {} host bits from {}",
                shown(count),
                shown(bits),
                shown(block)
            ),
        )
    })
}

/// `Fn::ImportValue name`: the export's value from `exports`, or, while the export is not
/// known, an expression that waits for it.
pub fn import_value(name: &Value, exports: impl FnOnce(&str) -> Option<Value>) -> Value {
    match name {
        Value::String(n) => exports(n).unwrap_or_else(|| later(Expr::ImportValue(name.clone()))),
        other => later(Expr::ImportValue(other.clone())),
    }
}

/// The subnets of [`cidr`]; `None` when the inputs are not valid.
fn carve(block: &Value, count: &Value, bits: &Value) -> Option<Value> {
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
    fn names_parse_back() {
        for i in Intrinsic::ALL {
            assert_eq!(Intrinsic::parse(i.as_str()), Some(i));
            if let Some(tag) = i.short_form() {
                assert_eq!(Intrinsic::from_short_form(tag), Some(i));
            }
        }
        assert_eq!(Intrinsic::parse("Fn::Joinn"), None);
        assert_eq!(Intrinsic::parse("Join"), None);
        assert_eq!(Intrinsic::from_short_form("Length"), None);
        let tags: Vec<&str> = Intrinsic::short_forms().filter_map(Intrinsic::short_form).collect();
        assert_eq!(
            tags,
            [
                "Ref",
                "Condition",
                "Base64",
                "Cidr",
                "Contains",
                "EachMemberEquals",
                "EachMemberIn",
                "FindInMap",
                "GetAtt",
                "GetAZs",
                "ImportValue",
                "Join",
                "Select",
                "Split",
                "Sub",
                "Transform",
                "And",
                "Equals",
                "If",
                "Not",
                "Or",
                "RefAll",
                "ValueOf",
                "ValueOfAll",
            ]
        );
    }

    fn s(v: &str) -> Value {
        Value::String(v.into())
    }

    fn later_att(attr: &str) -> Value {
        Value::Expr(Box::new(Expr::GetAtt("X".into(), attr.into())))
    }

    #[test]
    fn unknown_arguments_give_the_function_again() {
        let list = later_att("List");
        assert_eq!(join(",", &list), Ok(Value::Expr(Box::new(Expr::Join(",".into(), list.clone())))));
        let parts = Value::List(vec![s("a"), later_att("Arn")]);
        assert_eq!(join("/", &parts), Ok(Value::Expr(Box::new(Expr::Join("/".into(), parts.clone())))));
        assert_eq!(select(1, &list), Ok(Value::Expr(Box::new(Expr::Select(1, list.clone())))));
        assert_eq!(split(",", &list), Ok(Value::Expr(Box::new(Expr::Split(",".into(), list.clone())))));
        assert_eq!(base64(&list), Ok(Value::Expr(Box::new(Expr::Base64(list.clone())))));
        let n = |v: u64| Value::Number(v.into());
        assert_eq!(cidr(&list, &n(2), &n(8)), Ok(Value::Expr(Box::new(Expr::Cidr(list.clone(), n(2), n(8))))));
        assert_eq!(import_value(&s("e"), |_| None), Value::Expr(Box::new(Expr::ImportValue(s("e")))));
        assert_eq!(import_value(&s("e"), |name| Some(s(name))), s("e"));
    }

    #[test]
    fn known_arguments_give_the_result_or_an_error_naming_the_function() {
        let list = Value::List(vec![s("a"), Value::Number(1.into()), Value::Bool(true)]);
        assert_eq!(join("-", &list), Ok(s("a-1-true")));
        assert_eq!(select(0, &list), Ok(s("a")));
        assert_eq!(select_index(&s(" 2 ")), Ok(2));
        assert_eq!(split(",", &s("a,,b")), Ok(Value::List(vec![s("a"), s(""), s("b")])));
        assert_eq!(base64(&s("hi")), Ok(s("aGk=")));
        let refused = |r: Result<Value>| r.map_err(|e| (e.function, e.to_string()));
        assert_eq!(
            refused(select(3, &list)),
            Err((Intrinsic::Select, "index 3 of `Fn::Select` is out of range for a list of 3 items".into()))
        );
        assert_eq!(
            select_index(&s("-1")).map_err(|e| e.to_string()),
            Err("the index of `Fn::Select` must be a non-negative integer, found \"-1\"".into())
        );
        assert_eq!(
            refused(split("", &s("a"))),
            Err((Intrinsic::Split, "the delimiter of `Fn::Split` cannot be empty".into()))
        );
        assert_eq!(
            refused(join(",", &Value::List(vec![Value::Null]))),
            Err((Intrinsic::Join, "`Fn::Join` can only join strings, found null".into()))
        );
    }

    #[test]
    fn cidr_v4() {
        let v = carve(&Value::String("10.0.0.0/16".into()), &Value::String("3".into()), &Value::String("8".into()))
            .unwrap();
        assert_eq!(v.to_json(), serde_json::json!(["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"]));
        assert!(carve(&Value::String("10.0.0.0/30".into()), &Value::String("3".into()), &Value::String("1".into()))
            .is_none());
    }
}
