//! The template model: a loaded template's sections (Parameters, Mappings, Conditions, Rules,
//! Resources, Outputs, Transform), checked for shape, with spans kept for diagnostics.
