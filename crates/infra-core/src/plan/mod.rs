//! Plans: desired stacks against state give a closed set of actions per resource, with the
//! reason kept apart (it explains the plan to people and is not used for decisions).
