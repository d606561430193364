//! The dependency graph: edges from `Ref`, `Fn::GetAtt`, `Fn::Sub` and `DependsOn`, cycle
//! detection with the cycle's path, topological order and its reverse, and DOT output.
