//! Evaluation: parameters, rules, conditions and intrinsics, folding a template into a
//! [`super::DesiredStack`] for one environment.
