//! The dependency graph: edges from `Ref`, `Fn::GetAtt`, `Fn::Sub` and `DependsOn`, cycle
//! detection with the cycle's path, topological order and its reverse, and DOT output.
//!
//! It is the one dependency graph of the engine: `infra graph` and validation draw it from a
//! stack, the planner from a stack and a state, and the apply walker over its steps ([`Graph`]
//! is generic over its nodes). Per node it knows both the dependencies (what must exist first)
//! and the dependents (what must go first on destroy). Orders are deterministic: among nodes
//! that are ready at the same time, the first in node order (for IDs, alphabetical) comes
//! first. Every cycle is reported the same way, as its path ([`Cycle::message`]).

use crate::diag::{Diagnostic, Diagnostics};
use crate::template::DesiredStack;
use crate::value::{Expr, Value};
use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug, PartialEq, Eq)]
struct Edges<N> {
    dependencies: BTreeSet<N>,
    dependents: BTreeSet<N>,
}

impl<N> Default for Edges<N> {
    fn default() -> Self {
        Edges { dependencies: BTreeSet::new(), dependents: BTreeSet::new() }
    }
}

/// A directed graph; an edge `a -> b` means "a depends on b". Nodes are logical IDs unless
/// said otherwise (the apply walker's graph is over its steps).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Graph<N = String> {
    nodes: BTreeMap<N, Edges<N>>,
}

impl<N> Default for Graph<N> {
    fn default() -> Self {
        Graph { nodes: BTreeMap::new() }
    }
}

/// A dependency cycle, as the path `A -> B -> C -> A` (first element repeated at the end).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cycle<N = String>(pub Vec<N>);

impl<N: std::fmt::Display> std::fmt::Display for Cycle<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, n) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" -> ")?;
            }
            write!(f, "{n}")?;
        }
        Ok(())
    }
}

impl<N> Cycle<N> {
    /// The same path over other names for its nodes.
    pub fn map<M>(self, f: impl FnMut(N) -> M) -> Cycle<M> {
        Cycle(self.0.into_iter().map(f).collect())
    }
}

impl<N: std::fmt::Display> Cycle<N> {
    /// The one sentence every cycle is reported with, wherever it is found.
    pub fn message(&self, what: &str) -> String {
        format!("{what} form a dependency cycle: {self}")
    }
}

impl Graph {
    /// The graph of a stack's resources. Dependencies on IDs that are not resources of the
    /// stack are left out (they were reported during evaluation).
    pub fn from_stack(stack: &DesiredStack) -> Self {
        let mut g = Graph::new();
        for (id, r) in &stack.resources {
            g.add_node(id.as_str());
            for d in &r.depends_on {
                if stack.resources.contains_key(d) {
                    g.add_edge(id.as_str(), d.as_str());
                }
            }
        }
        g
    }
}

impl<N: Ord + Clone> Graph<N> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add_node(&mut self, id: impl Into<N>) {
        self.nodes.entry(id.into()).or_default();
    }

    /// Record that `from` depends on `to` (adding both nodes if needed).
    pub fn add_edge(&mut self, from: impl Into<N>, to: impl Into<N>) {
        let (from, to) = (from.into(), to.into());
        self.nodes.entry(from.clone()).or_default().dependencies.insert(to.clone());
        self.nodes.entry(to).or_default().dependents.insert(from);
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// How many dependency edges there are.
    pub fn edge_count(&self) -> usize {
        self.nodes.values().map(|e| e.dependencies.len()).sum()
    }

    pub fn contains<Q: Ord + ?Sized>(&self, id: &Q) -> bool
    where
        N: Borrow<Q>,
    {
        self.nodes.contains_key(id)
    }

    /// All nodes, in order.
    pub fn nodes(&self) -> impl Iterator<Item = &N> {
        self.nodes.keys()
    }

    /// What `id` depends on (must exist before it).
    pub fn dependencies<Q: Ord + ?Sized>(&self, id: &Q) -> impl Iterator<Item = &N>
    where
        N: Borrow<Q>,
    {
        self.nodes.get(id).into_iter().flat_map(|e| e.dependencies.iter())
    }

    /// What depends on `id` (must be deleted before it).
    pub fn dependents<Q: Ord + ?Sized>(&self, id: &Q) -> impl Iterator<Item = &N>
    where
        N: Borrow<Q>,
    {
        self.nodes.get(id).into_iter().flat_map(|e| e.dependents.iter())
    }

    /// The nodes `keep` accepts and the edges among them.
    pub fn subgraph(&self, keep: impl Fn(&N) -> bool) -> Self {
        let mut g = Graph::new();
        for (id, e) in self.nodes.iter().filter(|(id, _)| keep(id)) {
            g.add_node(id.clone());
            for d in e.dependencies.iter().filter(|d| keep(d)) {
                g.add_edge(id.clone(), d.clone());
            }
        }
        g
    }

    /// Creation order: every node after all of its dependencies.
    pub fn topo_order(&self) -> Result<Vec<N>, Cycle<N>> {
        self.kahn(|e| &e.dependencies, |e| &e.dependents, |_| ())
    }

    /// Creation order with ties among ready nodes broken by `rank` (say, the order resources
    /// appear in the template), then by node order.
    pub fn topo_order_by<K: Ord>(&self, rank: impl Fn(&N) -> K) -> Result<Vec<N>, Cycle<N>> {
        self.kahn(|e| &e.dependencies, |e| &e.dependents, rank)
    }

    /// Deletion order: every node after all of its dependents.
    pub fn reverse_order(&self) -> Result<Vec<N>, Cycle<N>> {
        self.kahn(|e| &e.dependents, |e| &e.dependencies, |_| ())
    }

    fn kahn<K: Ord>(
        &self,
        before: impl Fn(&Edges<N>) -> &BTreeSet<N>,
        after: impl Fn(&Edges<N>) -> &BTreeSet<N>,
        rank: impl Fn(&N) -> K,
    ) -> Result<Vec<N>, Cycle<N>> {
        let mut waiting: BTreeMap<&N, usize> = self.nodes.iter().map(|(id, e)| (id, before(e).len())).collect();
        let mut ready: BTreeSet<(K, &N)> =
            waiting.iter().filter(|(_, n)| **n == 0).map(|(id, _)| (rank(id), *id)).collect();
        let mut out = Vec::with_capacity(self.nodes.len());
        while let Some((_, id)) = ready.pop_first() {
            out.push(id.clone());
            if let Some(e) = self.nodes.get(id) {
                for next in after(e) {
                    if let Some(n) = waiting.get_mut(next) {
                        *n = n.saturating_sub(1);
                        if *n == 0 {
                            ready.insert((rank(next), next));
                        }
                    }
                }
            }
        }
        if out.len() == self.nodes.len() {
            Ok(out)
        } else {
            Err(self.find_cycle().unwrap_or_else(|| Cycle(Vec::new())))
        }
    }

    /// A cycle, if there is one: the path from its first reachable member back to itself.
    pub fn find_cycle(&self) -> Option<Cycle<N>> {
        // Iterative depth-first search with colours, so deep graphs cannot overflow the stack.
        #[derive(Clone, Copy, PartialEq)]
        enum Colour {
            White,
            Grey,
            Black,
        }
        let mut colour: BTreeMap<&N, Colour> = self.nodes.keys().map(|k| (k, Colour::White)).collect();
        for start in self.nodes.keys() {
            if colour.get(start) != Some(&Colour::White) {
                continue;
            }
            let mut path: Vec<&N> = vec![start];
            let mut iters: Vec<std::collections::btree_set::Iter<N>> =
                vec![self.nodes.get(start).map(|e| e.dependencies.iter()).unwrap_or_default()];
            colour.insert(start, Colour::Grey);
            while let Some(it) = iters.last_mut() {
                match it.next() {
                    Some(next) => match colour.get(next).copied().unwrap_or(Colour::Black) {
                        Colour::White => {
                            colour.insert(next, Colour::Grey);
                            path.push(next);
                            iters.push(self.nodes.get(next).map(|e| e.dependencies.iter()).unwrap_or_default());
                        }
                        Colour::Grey => {
                            let from = path.iter().position(|p| *p == next).unwrap_or(0);
                            let mut cycle: Vec<N> =
                                path.get(from..).unwrap_or(&[]).iter().map(|s| (*s).clone()).collect();
                            cycle.push(next.clone());
                            return Some(Cycle(cycle));
                        }
                        Colour::Black => {}
                    },
                    None => {
                        iters.pop();
                        if let Some(done) = path.pop() {
                            colour.insert(done, Colour::Black);
                        }
                    }
                }
            }
        }
        None
    }
}

impl<N: Ord + Clone + std::fmt::Display> Graph<N> {
    /// Graphviz DOT: an edge from each node to what it depends on.
    pub fn to_dot(&self, name: &str) -> String {
        let mut out = format!("digraph {} {{\n  rankdir=BT;\n  node [shape=box];\n", dot_id(name));
        for id in self.nodes.keys() {
            out.push_str(&format!("  {};\n", dot_id(&id.to_string())));
        }
        for (id, e) in &self.nodes {
            for d in &e.dependencies {
                out.push_str(&format!("  {} -> {};\n", dot_id(&id.to_string()), dot_id(&d.to_string())));
            }
        }
        out.push_str("}\n");
        out
    }
}

/// A dependency between layers: a resource that imports an export, and a resource the
/// exported value refers to.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ImportEdge {
    pub layer: String,
    pub logical_id: String,
    pub export: String,
    pub from_layer: String,
    pub from_logical_id: String,
}

/// Cross-layer edges among evaluated stacks (imports still unresolved, as in validation).
pub fn import_edges(stacks: &[DesiredStack]) -> Vec<ImportEdge> {
    let mut exporters: BTreeMap<&str, (&str, BTreeSet<String>)> = BTreeMap::new();
    for s in stacks {
        for o in s.outputs.values() {
            if let Some(Value::String(name)) = &o.export_name {
                exporters.insert(name, (s.layer.as_str(), o.value.references()));
            }
        }
    }
    let mut out = BTreeSet::new();
    for s in stacks {
        for (id, r) in &s.resources {
            let mut names = BTreeSet::new();
            imported_names(&r.properties, &mut names);
            for name in names {
                if let Some((layer, targets)) = exporters.get(name.as_str()) {
                    for t in targets {
                        out.insert(ImportEdge {
                            layer: s.layer.clone(),
                            logical_id: id.clone(),
                            export: name.clone(),
                            from_layer: layer.to_string(),
                            from_logical_id: t.clone(),
                        });
                    }
                }
            }
        }
    }
    out.into_iter().collect()
}

fn imported_names(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::List(items) => items.iter().for_each(|i| imported_names(i, out)),
        Value::Map(m) => m.values().for_each(|i| imported_names(i, out)),
        Value::Expr(e) => match e.as_ref() {
            Expr::ImportValue(Value::String(name)) => {
                out.insert(name.clone());
            }
            Expr::ImportValue(v) | Expr::Join(_, v) | Expr::Select(_, v) | Expr::Split(_, v) | Expr::Base64(v) => {
                imported_names(v, out)
            }
            Expr::Cidr(a, b, c) => [a, b, c].into_iter().for_each(|i| imported_names(i, out)),
            Expr::Ref(_) | Expr::GetAtt(..) => {}
        },
        _ => {}
    }
}

/// Several layers' graphs in one DOT document, one cluster per layer (node IDs are
/// `layer/LogicalId`, labelled with the logical ID), with imports as dashed edges.
pub fn layers_to_dot(name: &str, layers: &[(String, Graph)], imports: &[ImportEdge]) -> String {
    let node = |layer: &str, id: &str| dot_id(&format!("{layer}/{id}"));
    let mut out = format!("digraph {} {{\n  rankdir=BT;\n  node [shape=box];\n", dot_id(name));
    for (layer, g) in layers {
        out.push_str(&format!("  subgraph {} {{\n    label={};\n", dot_id(&format!("cluster_{layer}")), dot_id(layer)));
        for id in g.nodes() {
            out.push_str(&format!("    {} [label={}];\n", node(layer, id), dot_id(id)));
        }
        for id in g.nodes() {
            for d in g.dependencies(id) {
                out.push_str(&format!("    {} -> {};\n", node(layer, id), node(layer, d)));
            }
        }
        out.push_str("  }\n");
    }
    let shown: BTreeSet<&str> = layers.iter().map(|(l, _)| l.as_str()).collect();
    for e in imports.iter().filter(|e| shown.contains(e.layer.as_str()) && shown.contains(e.from_layer.as_str())) {
        out.push_str(&format!(
            "  {} -> {} [style=dashed, label={}];\n",
            node(&e.layer, &e.logical_id),
            node(&e.from_layer, &e.from_logical_id),
            dot_id(&e.export)
        ));
    }
    out.push_str("}\n");
    out
}

/// A quoted DOT identifier.
pub fn dot_id(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Report a dependency cycle among a stack's resources (E3001), at its first member.
pub fn check_stack(stack: &DesiredStack, diags: &mut Diagnostics) -> Graph {
    let g = Graph::from_stack(stack);
    if let Some(cycle) = g.find_cycle() {
        let first = cycle.0.first().cloned().unwrap_or_default();
        let mut d = Diagnostic::error("E3001", cycle.message("resources"))
            .label("this resource depends on itself through the cycle")
            .note("Break the cycle: drop a DependsOn, or move one of the references into a separate resource (for example a policy attached afterwards).");
        if let Some(r) = stack.resources.get(&first) {
            d = d.at(r.span);
        }
        for id in cycle.0.iter().skip(1).take(cycle.0.len().saturating_sub(2)) {
            if let Some(r) = stack.resources.get(id) {
                d = d.with_secondary(r.span, "part of the cycle");
            }
        }
        diags.push(d);
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &str)], nodes: &[&str]) -> Graph {
        let mut g = Graph::new();
        for n in nodes {
            g.add_node(*n);
        }
        for (a, b) in edges {
            g.add_edge(*a, *b);
        }
        g
    }

    fn check(edges: &[(&str, &str)], nodes: &[&str], expected: Result<&str, &str>) {
        let g = graph(edges, nodes);
        let got = match g.topo_order() {
            Ok(o) => Ok(o.join(",")),
            Err(c) => Err(c.to_string()),
        };
        assert_eq!(got.as_deref().map_err(String::as_str), expected, "edges {edges:?}");
        if let Ok(order) = g.topo_order() {
            let mut rev = g.reverse_order().expect("no cycle either way");
            // Reverse order respects dependents: each node comes after what depends on it.
            for (a, b) in edges {
                let pa = rev.iter().position(|x| x == a);
                let pb = rev.iter().position(|x| x == b);
                assert!(pa < pb, "{a} must be deleted before {b}");
            }
            rev.sort();
            let mut sorted = order.clone();
            sorted.sort();
            assert_eq!(rev, sorted);
        }
    }

    #[test]
    fn orders_and_cycles() {
        check(&[], &[], Ok(""));
        check(&[], &["B", "A"], Ok("A,B"));
        check(&[("A", "B")], &[], Ok("B,A"));
        check(&[("A", "B"), ("B", "C")], &[], Ok("C,B,A"));
        check(&[("A", "C"), ("B", "C")], &["D"], Ok("C,A,B,D"));
        check(&[("A", "A")], &[], Err("A -> A"));
        check(&[("A", "B"), ("B", "A")], &[], Err("A -> B -> A"));
        check(&[("A", "B"), ("B", "C"), ("C", "A")], &["Z"], Err("A -> B -> C -> A"));
        check(&[("X", "B"), ("B", "C"), ("C", "B")], &[], Err("B -> C -> B"));
    }

    #[test]
    fn dot_and_neighbours() {
        let g = graph(&[("Role", "Bucket"), ("Model", "Role")], &[]);
        assert_eq!(g.dependencies("Role").collect::<Vec<_>>(), vec!["Bucket"]);
        assert_eq!(g.dependents("Role").collect::<Vec<_>>(), vec!["Model"]);
        assert_eq!(
            g.to_dot("s"),
            "digraph \"s\" {\n  rankdir=BT;\n  node [shape=box];\n  \"Bucket\";\n  \"Model\";\n  \"Role\";\n  \"Model\" -> \"Role\";\n  \"Role\" -> \"Bucket\";\n}\n"
        );
    }
}
