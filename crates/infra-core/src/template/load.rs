//! Loading JSON and YAML template files into spanned [`super::node::Node`] trees, with limits
//! on size, depth and alias expansion, and YAML short-form tags rewritten to their long form.
