//! The stack toolkit the nested-stack type and the fallback share: create a stack (all
//! capabilities, the `infra:intent` tag), update it through a change set ("no changes" is a
//! no-op), delete it, and wait for a terminal status while its events are reported as
//! provider events. When an operation fails, the error names the FIRST failing resource
//! (descending into nested stacks), never CloudFormation's "Embedded stack … was not
//! successfully created". Stuck states (`UPDATE_ROLLBACK_FAILED`, `DELETE_FAILED`,
//! `REVIEW_IN_PROGRESS`) are detected before an operation and when a wait ends in one, and
//! explained with the blocking resources and the command that resolves them.

use super::CloudFormation;
use crate::kit::errors::absent_if_missing;
use crate::kit::waiter::{Phase, Poll, Waits as _};
use aws_sdk_cloudformation::types::{Capability, ChangeSetStatus, ChangeSetType, Parameter, Tag};
use infra_core::provider::events::{self, ProviderEvent};
use infra_core::provider::{DriftAnswer, ErrorKind, ProviderError, ResourceContext, ServiceDifference, INTENT_TAG};
use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

/// How deep failure reports descend into nested stacks.
const MAX_NESTING: usize = 5;

/// Where a stack's template comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TemplateSource {
    Body(String),
    /// An `https://` (S3) URL CloudFormation reads itself.
    Url(String),
}

/// What a stack is made from: template, parameters and tags (the intent tag included).
#[derive(Clone, Debug)]
pub struct StackInput {
    pub template: TemplateSource,
    pub parameters: Vec<(String, String)>,
    pub tags: Vec<(String, String)>,
    pub timeout_in_minutes: Option<i32>,
    pub notification_arns: Option<Vec<String>>,
}

/// One output of a stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackOutput {
    pub key: String,
    pub value: String,
    pub description: Option<String>,
}

/// A stack as DescribeStacks reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveStack {
    pub id: String,
    pub name: String,
    pub status: String,
    pub reason: Option<String>,
    pub outputs: Vec<StackOutput>,
    pub tags: Vec<(String, String)>,
    pub parameters: Vec<(String, String)>,
}

impl LiveStack {
    /// The token of the create that made the stack (its [`INTENT_TAG`]).
    pub fn intent(&self) -> Option<&str> {
        self.tags.iter().find(|(k, _)| k == INTENT_TAG).map(|(_, v)| v.as_str())
    }

    /// Tags without the intent tag (and without those AWS manages itself).
    pub fn template_tags(&self) -> Vec<(String, String)> {
        self.tags.iter().filter(|(k, _)| k != INTENT_TAG && !crate::kit::tags::is_aws_managed(k)).cloned().collect()
    }

    pub fn output(&self, key: &str) -> Option<&str> {
        self.outputs.iter().find(|o| o.key == key).map(|o| o.value.as_str())
    }
}

/// Statuses an operation is still running in (`REVIEW_IN_PROGRESS` waits for a person).
pub fn in_progress(status: &str) -> bool {
    status.ends_with("_IN_PROGRESS") && status != "REVIEW_IN_PROGRESS"
}

/// Statuses of a stack whose create failed: it holds nothing and cannot be updated.
pub fn failed_create(status: &str) -> bool {
    matches!(status, "CREATE_FAILED" | "ROLLBACK_COMPLETE" | "ROLLBACK_FAILED")
}

/// Statuses that block every operation but a delete until a person acts.
pub fn stuck(status: &str) -> bool {
    matches!(status, "UPDATE_ROLLBACK_FAILED" | "DELETE_FAILED" | "REVIEW_IN_PROGRESS")
}

/// A stack event, in our terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackEvent {
    pub id: String,
    pub logical_id: String,
    pub physical_id: String,
    pub resource_type: String,
    pub status: String,
    pub reason: Option<String>,
}

impl StackEvent {
    /// Whether the event is about the stack itself rather than one of its resources.
    fn about_stack(&self, stack: &LiveStack) -> bool {
        self.physical_id == stack.id
            || (self.resource_type == "AWS::CloudFormation::Stack" && self.logical_id == stack.name)
    }

    /// `Topic AWS::SNS::Topic CREATE_FAILED: reason`
    fn line(&self) -> String {
        let reason = self.reason.as_deref().filter(|r| !r.is_empty()).map(|r| format!(": {r}")).unwrap_or_default();
        format!("{} {} {}{reason}", self.logical_id, self.resource_type, self.status)
    }
}

/// The first resource that failed in an operation, and the nested stacks it sits in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// Logical IDs of the nested stacks leading to it, outermost first.
    pub nesting: Vec<String>,
    pub event: StackEvent,
}

impl std::fmt::Display for Failure {
    /// `Param (AWS::SSM::Parameter, in nested stack Child) CREATE_FAILED: reason`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let e = &self.event;
        let nesting = if self.nesting.is_empty() {
            String::new()
        } else {
            format!(", in nested stack {}", self.nesting.join(" → "))
        };
        let reason = e.reason.as_deref().filter(|r| !r.is_empty()).unwrap_or("no reason given");
        write!(f, "{} ({}{nesting}) {}: {reason}", e.logical_id, e.resource_type, e.status)
    }
}

/// The events of the stack's latest operation, oldest first: from its last stack-level
/// `CREATE_IN_PROGRESS`, `UPDATE_IN_PROGRESS`, `DELETE_IN_PROGRESS` or `REVIEW_IN_PROGRESS` on.
pub fn latest_operation<'a>(stack: &LiveStack, events: &'a [StackEvent]) -> &'a [StackEvent] {
    operation_from(stack, events, true)
}

/// [`latest_operation`]; without `deletes`, a delete does not start an operation: a nested
/// stack that failed is deleted by its parent's rollback, and what failed came before.
fn operation_from<'a>(stack: &LiveStack, events: &'a [StackEvent], deletes: bool) -> &'a [StackEvent] {
    const STARTS: &[&str] = &["CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS", "REVIEW_IN_PROGRESS", "IMPORT_IN_PROGRESS"];
    let starts = |status: &str| STARTS.contains(&status) || (deletes && status == "DELETE_IN_PROGRESS");
    let start = events.iter().rposition(|e| e.about_stack(stack) && starts(&e.status)).unwrap_or(0);
    &events[start..]
}

/// The first failed resource event of an operation (not the stack's own events).
fn first_failed<'a>(stack: &LiveStack, events: &'a [StackEvent], deletes: bool) -> Option<&'a StackEvent> {
    operation_from(stack, events, deletes).iter().find(|e| !e.about_stack(stack) && e.status.ends_with("_FAILED"))
}

type Boxed<'a, T> = Pin<Box<dyn Future<Output = Result<T, ProviderError>> + Send + 'a>>;

impl CloudFormation {
    /// The stack named (or with ID) `stack`; `None` when there is none or it is deleted.
    pub async fn describe_stack(&self, stack: &str) -> Result<Option<LiveStack>, ProviderError> {
        let out = absent_if_missing(
            self.call("DescribeStacks", || self.client.describe_stacks().stack_name(stack).send()).await,
        )?;
        Ok(out.and_then(|o| o.stacks().first().map(live)).filter(|s| s.status != "DELETE_COMPLETE"))
    }

    /// The stack's events, oldest first (the latest few hundred).
    pub async fn events(&self, stack: &str) -> Result<Vec<StackEvent>, ProviderError> {
        let mut out = Vec::new();
        let mut next: Option<String> = None;
        for _ in 0..5 {
            let page = self
                .call("DescribeStackEvents", || {
                    self.client.describe_stack_events().stack_name(stack).set_next_token(next.clone()).send()
                })
                .await?;
            out.extend(page.stack_events().iter().map(|e| StackEvent {
                id: e.event_id().unwrap_or_default().to_string(),
                logical_id: e.logical_resource_id().unwrap_or_default().to_string(),
                physical_id: e.physical_resource_id().unwrap_or_default().to_string(),
                resource_type: e.resource_type().unwrap_or_default().to_string(),
                status: e.resource_status().map(|s| s.as_str().to_string()).unwrap_or_default(),
                reason: e.resource_status_reason().map(str::to_string),
            }));
            match page.next_token() {
                Some(t) if !t.is_empty() => next = Some(t.to_string()),
                _ => break,
            }
        }
        out.reverse();
        Ok(out)
    }

    /// The stack's resources with their status and reason: (logical ID, type, status, reason).
    pub async fn resources(&self, stack: &str) -> Result<Vec<StackEvent>, ProviderError> {
        let mut out = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = self
                .call("ListStackResources", || {
                    self.client.list_stack_resources().stack_name(stack).set_next_token(next.clone()).send()
                })
                .await?;
            out.extend(page.stack_resource_summaries().iter().map(|r| StackEvent {
                id: String::new(),
                logical_id: r.logical_resource_id().unwrap_or_default().to_string(),
                physical_id: r.physical_resource_id().unwrap_or_default().to_string(),
                resource_type: r.resource_type().unwrap_or_default().to_string(),
                status: r.resource_status().map(|s| s.as_str().to_string()).unwrap_or_default(),
                reason: r.resource_status_reason().map(str::to_string),
            }));
            match page.next_token() {
                Some(t) if !t.is_empty() => next = Some(t.to_string()),
                _ => return Ok(out),
            }
        }
    }

    /// The first resource that failed in the stack's latest operation, looking inside a
    /// failed nested stack for the resource that failed there.
    pub fn first_failure<'a>(&'a self, stack: &'a LiveStack, depth: usize) -> Boxed<'a, Option<Failure>> {
        Box::pin(async move {
            let events = self.events(&stack.id).await?;
            let Some(event) = first_failed(stack, &events, depth == 0) else { return Ok(None) };
            if event.resource_type == "AWS::CloudFormation::Stack"
                && depth < MAX_NESTING
                && !event.physical_id.is_empty()
            {
                if let Ok(Some(inner)) = self.describe_any(&event.physical_id).await {
                    if let Ok(Some(mut found)) = self.first_failure(&inner, depth + 1).await {
                        found.nesting.insert(0, event.logical_id.clone());
                        return Ok(Some(found));
                    }
                }
            }
            Ok(Some(Failure { nesting: Vec::new(), event: event.clone() }))
        })
    }

    /// Like [`describe_stack`](Self::describe_stack), deleted stacks included (a rolled-back
    /// nested stack may be gone by the time its parent fails).
    async fn describe_any(&self, stack: &str) -> Result<Option<LiveStack>, ProviderError> {
        let out = absent_if_missing(
            self.call("DescribeStacks", || self.client.describe_stacks().stack_name(stack).send()).await,
        )?;
        Ok(out.and_then(|o| o.stacks().first().map(live)))
    }

    /// What went wrong, for a stack whose operation ended in `status`: the first failing
    /// resource when the events tell, else the stack's own status reason.
    async fn failure_text(&self, stack: &LiveStack) -> String {
        match self.first_failure(stack, 0).await {
            Ok(Some(f)) => f.to_string(),
            _ => stack.reason.clone().filter(|r| !r.is_empty()).unwrap_or_else(|| "no reason given".to_string()),
        }
    }

    /// The explanation of a stuck stack, naming the resources that block it and the command
    /// that resolves it; `None` when the stack is not stuck.
    pub async fn explain_stuck(&self, stack: &LiveStack) -> Result<Option<String>, ProviderError> {
        let name = &stack.name;
        let blocking = |status: &'static str| async move {
            let resources = self.resources(&stack.id).await?;
            Ok::<_, ProviderError>(resources.into_iter().filter(|r| r.status == status).collect::<Vec<_>>())
        };
        let list = |resources: &[StackEvent]| {
            resources
                .iter()
                .map(|r| {
                    let reason = r.reason.as_deref().filter(|r| !r.is_empty()).unwrap_or("no reason given");
                    format!("{} ({}): {reason}", r.logical_id, r.resource_type)
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        let ids =
            |resources: &[StackEvent]| resources.iter().map(|r| r.logical_id.clone()).collect::<Vec<_>>().join(" ");
        Ok(Some(match stack.status.as_str() {
            "UPDATE_ROLLBACK_FAILED" => {
                let failed = blocking("UPDATE_FAILED").await?;
                let (which, skip) = if failed.is_empty() {
                    ("CloudFormation names no resource in UPDATE_FAILED".to_string(), String::new())
                } else {
                    (
                        format!("resources that could not be rolled back: {}", list(&failed)),
                        format!(" [--resources-to-skip {}]", ids(&failed)),
                    )
                };
                format!(
                    "stack {name} is UPDATE_ROLLBACK_FAILED: an update failed and so did its rollback, and \
                     CloudFormation refuses every change until it is resolved; {which}. Fix what keeps them \
                     from rolling back, then run `aws cloudformation continue-update-rollback --stack-name {name}{skip}` \
                     (skipped resources are taken as rolled back without being changed), and apply again"
                )
            }
            "DELETE_FAILED" => {
                let failed = blocking("DELETE_FAILED").await?;
                let (which, retain) = if failed.is_empty() {
                    ("CloudFormation names no resource in DELETE_FAILED".to_string(), String::new())
                } else {
                    (
                        format!("resources that could not be deleted: {}", list(&failed)),
                        format!(" --retain-resources {}", ids(&failed)),
                    )
                };
                format!(
                    "stack {name} is DELETE_FAILED: {which}. Fix what keeps them from being deleted and run \
                     infra again (the delete is retried), or keep them and remove the stack with \
                     `aws cloudformation delete-stack --stack-name {name}{retain}`"
                )
            }
            "REVIEW_IN_PROGRESS" => format!(
                "stack {name} is REVIEW_IN_PROGRESS: it was created by a change set that was never executed, \
                 and holds no resources. Execute the change set (`aws cloudformation execute-change-set`) or \
                 remove the stack with `aws cloudformation delete-stack --stack-name {name}`, and apply again"
            ),
            _ => return Ok(None),
        }))
    }

    /// The stuck-state error for `stack`, if it is stuck.
    async fn refuse_stuck(&self, operation: &str, stack: &LiveStack) -> Result<(), ProviderError> {
        match self.explain_stuck(stack).await? {
            Some(why) => Err(ProviderError::new(ErrorKind::Conflict, operation, why)),
            None => Ok(()),
        }
    }

    /// Waits until the stack is in no `*_IN_PROGRESS` status, reporting its new events as
    /// provider events; `None` when it is gone (deleted).
    pub async fn settle(
        &self,
        context: &ResourceContext,
        phase: Phase,
        operation: &str,
        stack: &LiveStack,
        target: &str,
    ) -> Result<Option<LiveStack>, ProviderError> {
        let subject = format!("stack {}", stack.name);
        let seen: Mutex<HashSet<String>> = Mutex::new(HashSet::new());
        let wait = self.wait(context, phase, operation, &subject, target)?;
        wait.until(|| async {
            let now = self.describe_any(&stack.id).await?;
            self.report_events(operation, &subject, now.as_ref().unwrap_or(stack), &seen).await;
            Ok(match now {
                None => Poll::Ready(None),
                Some(s) if s.status == "DELETE_COMPLETE" => Poll::Ready(None),
                Some(s) if in_progress(&s.status) => Poll::Pending(s.status.clone()),
                Some(s) => Poll::Ready(Some(s)),
            })
        })
        .await
    }

    /// Reports the events of the stack's latest operation not reported yet. Progress only:
    /// a failure to read them does not fail the operation.
    async fn report_events(&self, operation: &str, subject: &str, stack: &LiveStack, seen: &Mutex<HashSet<String>>) {
        let Ok(events) = self.events(&stack.id).await else { return };
        for e in latest_operation(stack, &events) {
            let new = seen.lock().map(|mut s| s.insert(e.id.clone())).unwrap_or(false);
            if new {
                events::report(ProviderEvent::Progress {
                    operation: operation.to_string(),
                    subject: subject.to_string(),
                    message: e.line(),
                });
            }
        }
    }

    /// Creates stack `name` carrying `token` as its intent tag and waits for it. A stack of
    /// that name carrying the same token is this create's own (an earlier attempt whose
    /// answer was lost): it is adopted, or, left `REVIEW_IN_PROGRESS` by a change set that was
    /// never executed, deleted and created again. A failed create is reported with its first
    /// failing resource, and the rolled-back stack is deleted.
    pub async fn create_stack(
        &self,
        context: &ResourceContext,
        name: &str,
        token: &str,
        input: &StackInput,
    ) -> Result<LiveStack, ProviderError> {
        const OPERATION: &str = "CreateStack";
        let mut tags = input.tags.clone();
        tags.retain(|(k, _)| k != INTENT_TAG);
        tags.push((INTENT_TAG.to_string(), token.to_string()));
        let mut recreated = false;
        let stack = loop {
            let created = self
                .call(OPERATION, || {
                    let request = self
                        .client
                        .create_stack()
                        .stack_name(name)
                        .set_parameters(sdk_parameters(&input.parameters))
                        .set_capabilities(Some(capabilities()))
                        .set_tags(Some(sdk_tags(&tags)))
                        .set_timeout_in_minutes(input.timeout_in_minutes)
                        .set_notification_arns(input.notification_arns.clone());
                    match &input.template {
                        TemplateSource::Body(body) => request.template_body(body),
                        TemplateSource::Url(url) => request.template_url(url),
                    }
                    .send()
                })
                .await;
            match created {
                Ok(out) => {
                    let id = out.stack_id().unwrap_or(name).to_string();
                    break self.describe_any(&id).await?.unwrap_or_else(|| pending(&id, name));
                }
                Err(e) if e.code.as_deref() == Some("AlreadyExistsException") => {
                    let Some(existing) = self.describe_stack(name).await? else { continue };
                    if existing.intent() != Some(token) {
                        let stuck = self.explain_stuck(&existing).await?.map(|w| format!(" ({w})")).unwrap_or_default();
                        return Err(ProviderError::new(
                            ErrorKind::Conflict,
                            OPERATION,
                            format!(
                                "a stack named {name} already exists ({}) and this create did not make it (its {INTENT_TAG} tag is {}){stuck}; delete it or choose another name",
                                existing.status,
                                existing.intent().unwrap_or("absent")
                            ),
                        ));
                    }
                    if existing.status == "REVIEW_IN_PROGRESS" && !recreated {
                        // Our own stack, left by a change set nobody executed: it holds
                        // nothing, so it is removed and made again.
                        recreated = true;
                        self.delete_stack(context, &existing).await?;
                        continue;
                    }
                    break existing;
                }
                Err(e) => return Err(e),
            }
        };
        let settled = self.settle(context, Phase::Create, OPERATION, &stack, "CREATE_COMPLETE").await?;
        let Some(settled) = settled else {
            return Err(ProviderError::new(
                ErrorKind::Other,
                OPERATION,
                format!("stack {name} disappeared while it was being created"),
            ));
        };
        if matches!(settled.status.as_str(), "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "IMPORT_COMPLETE") {
            return Ok(settled);
        }
        let why = self.failure_text(&settled).await;
        let message = format!("stack {name} failed to create ({}): {why}", settled.status);
        if failed_create(&settled.status) {
            // A stack whose create rolled back holds nothing and cannot be updated: remove it,
            // so the next attempt starts clean.
            return match self.delete_stack(context, &settled).await {
                Ok(()) => Err(ProviderError::new(ErrorKind::Invalid, OPERATION, message)),
                Err(e) => Err(ProviderError::new(
                    ErrorKind::Other,
                    OPERATION,
                    format!("{message}; deleting the failed stack failed too: {e}"),
                )),
            };
        }
        let stuck = self.explain_stuck(&settled).await?.map(|w| format!("; {w}")).unwrap_or_default();
        Err(ProviderError::new(ErrorKind::Other, OPERATION, format!("{message}{stuck}")))
    }

    /// Brings `stack` to `input` through a change set: created, waited for, executed and
    /// waited for. A change set without changes is deleted and the stack returned as it is.
    pub async fn update_stack(
        &self,
        context: &ResourceContext,
        stack_id: &str,
        input: &StackInput,
    ) -> Result<LiveStack, ProviderError> {
        const OPERATION: &str = "UpdateStack";
        let Some(mut stack) = self.describe_stack(stack_id).await? else {
            return Err(ProviderError::new(ErrorKind::NotFound, OPERATION, format!("stack {stack_id} does not exist")));
        };
        if in_progress(&stack.status) {
            // Another operation is under way: let it finish first.
            let target = "a settled status";
            stack = self.settle(context, Phase::Update, OPERATION, &stack, target).await?.ok_or_else(|| {
                ProviderError::new(ErrorKind::NotFound, OPERATION, format!("stack {stack_id} was deleted meanwhile"))
            })?;
        }
        self.refuse_stuck(OPERATION, &stack).await?;
        if failed_create(&stack.status) {
            let why = self.failure_text(&stack).await;
            return Err(ProviderError::new(
                ErrorKind::Conflict,
                OPERATION,
                format!(
                    "stack {} failed to create ({}: {why}) and cannot be updated; it must be replaced \
                     (`infra apply -replace …`) or deleted with `aws cloudformation delete-stack --stack-name {}`",
                    stack.name, stack.status, stack.name
                ),
            ));
        }
        let mut tags = input.tags.clone();
        tags.retain(|(k, _)| k != INTENT_TAG);
        if let Some(token) = stack.intent() {
            tags.push((INTENT_TAG.to_string(), token.to_string()));
        }
        let change_set_name = format!("infra-{}", crate::naming::random_suffix());
        let created = self
            .call("CreateChangeSet", || {
                let request = self
                    .client
                    .create_change_set()
                    // By name: some emulations find a stack for a change set only by its name.
                    .stack_name(&stack.name)
                    .change_set_name(&change_set_name)
                    .change_set_type(ChangeSetType::Update)
                    .set_parameters(sdk_parameters(&input.parameters))
                    .set_capabilities(Some(capabilities()))
                    .set_tags(Some(sdk_tags(&tags)))
                    .set_notification_arns(input.notification_arns.clone());
                match &input.template {
                    TemplateSource::Body(body) => request.template_body(body),
                    TemplateSource::Url(url) => request.template_url(url),
                }
                .send()
            })
            .await;
        let change_set = match created {
            Ok(out) => out.id().unwrap_or(&change_set_name).to_string(),
            Err(e) if no_changes(&e.message) => return Ok(stack),
            Err(e) => return Err(e),
        };
        let subject = format!("change set {change_set_name} of stack {}", stack.name);
        let ready = self
            .wait(context, Phase::Update, "CreateChangeSet", &subject, "CREATE_COMPLETE")?
            .until(|| async {
                let cs = self
                    .call("DescribeChangeSet", || {
                        self.client.describe_change_set().change_set_name(&change_set).stack_name(&stack.name).send()
                    })
                    .await?;
                Ok(match cs.status() {
                    Some(ChangeSetStatus::CreateComplete) => Poll::Ready(None),
                    Some(ChangeSetStatus::Failed) => {
                        Poll::Ready(Some(cs.status_reason().unwrap_or_default().to_string()))
                    }
                    Some(other) => Poll::Pending(other.as_str().to_string()),
                    None => Poll::Pending("unknown".to_string()),
                })
            })
            .await?;
        if let Some(reason) = ready {
            // Nothing to execute: the change set is only in the way.
            let _ = self
                .call("DeleteChangeSet", || {
                    self.client.delete_change_set().change_set_name(&change_set).stack_name(&stack.name).send()
                })
                .await;
            if no_changes(&reason) {
                return Ok(stack);
            }
            return Err(ProviderError::new(
                ErrorKind::Invalid,
                "CreateChangeSet",
                format!("the change set for stack {} failed: {reason}", stack.name),
            ));
        }
        self.call("ExecuteChangeSet", || {
            self.client.execute_change_set().change_set_name(&change_set).stack_name(&stack.name).send()
        })
        .await?;
        let settled = self.settle(context, Phase::Update, "ExecuteChangeSet", &stack, "UPDATE_COMPLETE").await?;
        let Some(settled) = settled else {
            return Err(ProviderError::new(
                ErrorKind::Other,
                OPERATION,
                format!("stack {} disappeared while it was being updated", stack.name),
            ));
        };
        match settled.status.as_str() {
            "UPDATE_COMPLETE" | "CREATE_COMPLETE" | "IMPORT_COMPLETE" => Ok(settled),
            "UPDATE_ROLLBACK_COMPLETE" => {
                let why = self.failure_text(&settled).await;
                Err(ProviderError::new(
                    ErrorKind::Invalid,
                    OPERATION,
                    format!("stack {} failed to update and was rolled back to its previous state: {why}", stack.name),
                ))
            }
            status => {
                let why = self.failure_text(&settled).await;
                let stuck = self.explain_stuck(&settled).await?.map(|w| format!("; {w}")).unwrap_or_default();
                Err(ProviderError::new(
                    ErrorKind::Conflict,
                    OPERATION,
                    format!("stack {} failed to update ({status}): {why}{stuck}", stack.name),
                ))
            }
        }
    }

    /// Deletes `stack` and waits until it is gone. A stack in `DELETE_FAILED` is deleted
    /// again (its blockers may have been fixed); if that fails too, the error says which
    /// resources block it and how to resolve it.
    pub async fn delete_stack(&self, context: &ResourceContext, stack: &LiveStack) -> Result<(), ProviderError> {
        const OPERATION: &str = "DeleteStack";
        let mut stack = stack.clone();
        if in_progress(&stack.status) && stack.status != "DELETE_IN_PROGRESS" {
            match self.settle(context, Phase::Delete, OPERATION, &stack, "a settled status").await? {
                Some(settled) => stack = settled,
                None => return Ok(()),
            }
        }
        absent_if_missing(self.call(OPERATION, || self.client.delete_stack().stack_name(&stack.id).send()).await)?;
        match self.settle(context, Phase::Delete, OPERATION, &stack, "DELETE_COMPLETE").await? {
            None => Ok(()),
            Some(left) => {
                let why = match self.explain_stuck(&left).await? {
                    Some(why) => why,
                    None => format!(
                        "stack {} is {} after its delete: {}",
                        left.name,
                        left.status,
                        self.failure_text(&left).await
                    ),
                };
                Err(ProviderError::new(ErrorKind::Conflict, OPERATION, why))
            }
        }
    }
}

/// A stack whose create was accepted but that DescribeStacks does not show yet.
fn pending(id: &str, name: &str) -> LiveStack {
    LiveStack {
        id: id.to_string(),
        name: name.to_string(),
        status: "CREATE_IN_PROGRESS".to_string(),
        reason: None,
        outputs: Vec::new(),
        tags: Vec::new(),
        parameters: Vec::new(),
    }
}

/// CloudFormation's ways of saying a change set (or update) would change nothing.
fn no_changes(message: &str) -> bool {
    message.contains("didn't contain changes") || message.contains("No updates are to be performed")
}

fn live(s: &aws_sdk_cloudformation::types::Stack) -> LiveStack {
    LiveStack {
        id: s.stack_id().unwrap_or_default().to_string(),
        name: s.stack_name().unwrap_or_default().to_string(),
        status: s.stack_status().map(|s| s.as_str().to_string()).unwrap_or_default(),
        reason: s.stack_status_reason().map(str::to_string),
        outputs: s
            .outputs()
            .iter()
            .filter_map(|o| {
                Some(StackOutput {
                    key: o.output_key()?.to_string(),
                    value: o.output_value().unwrap_or_default().to_string(),
                    description: o.description().map(str::to_string),
                })
            })
            .collect(),
        tags: s
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string())))
            .collect(),
        parameters: s
            .parameters()
            .iter()
            .filter_map(|p| Some((p.parameter_key()?.to_string(), p.parameter_value().unwrap_or_default().to_string())))
            .collect(),
    }
}

/// Every capability a template may need: infra applies what the template says, IAM and
/// macros included, as a deploy with `--capabilities` would.
fn capabilities() -> Vec<Capability> {
    vec![Capability::CapabilityIam, Capability::CapabilityNamedIam, Capability::CapabilityAutoExpand]
}

fn sdk_parameters(parameters: &[(String, String)]) -> Option<Vec<Parameter>> {
    (!parameters.is_empty()).then(|| {
        parameters.iter().map(|(k, v)| Parameter::builder().parameter_key(k).parameter_value(v).build()).collect()
    })
}

fn sdk_tags(tags: &[(String, String)]) -> Vec<Tag> {
    tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

/// What CloudFormation's drift detection said of one resource, as the engine takes it:
/// property paths below `Properties` (`/Properties/DashboardBody` → `DashboardBody`), values
/// parsed from the JSON text CloudFormation gives them in.
pub(crate) fn drift_answer(drift: Option<&aws_sdk_cloudformation::types::StackResourceDrift>) -> DriftAnswer {
    use aws_sdk_cloudformation::types::StackResourceDriftStatus as S;
    let Some(drift) = drift else {
        return DriftAnswer::NotCheckable("CloudFormation's drift detection gave no result".to_string());
    };
    let value =
        |text: Option<&str>| text.map(|t| serde_json::from_str(t).unwrap_or(serde_json::Value::String(t.to_string())));
    match drift.stack_resource_drift_status() {
        Some(S::InSync) => DriftAnswer::Compared(Vec::new()),
        Some(S::Deleted) => DriftAnswer::Gone,
        Some(S::Modified) => DriftAnswer::Compared(
            drift
                .property_differences()
                .iter()
                .map(|d| ServiceDifference {
                    path: d
                        .property_path()
                        .unwrap_or_default()
                        .trim_start_matches("/Properties")
                        .trim_start_matches('/')
                        .to_string(),
                    expected: value(d.expected_value()),
                    actual: value(d.actual_value()),
                })
                .collect(),
        ),
        other => DriftAnswer::NotCheckable(format!(
            "CloudFormation's drift detection did not check it ({})",
            other.map_or("no status", |s| s.as_str())
        )),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cloudformation_drift_results_become_the_engines() {
        use aws_sdk_cloudformation::types::{PropertyDifference, StackResourceDrift, StackResourceDriftStatus as S};
        let drift = |status: S| StackResourceDrift::builder().stack_resource_drift_status(status);
        assert_eq!(drift_answer(Some(&drift(S::InSync).build())), DriftAnswer::Compared(Vec::new()));
        assert_eq!(drift_answer(Some(&drift(S::Deleted).build())), DriftAnswer::Gone);
        let modified = drift(S::Modified)
            .property_differences(
                PropertyDifference::builder()
                    .property_path("/Properties/VersioningConfiguration/Status")
                    .expected_value("Enabled")
                    .actual_value("Suspended")
                    .build(),
            )
            .property_differences(
                PropertyDifference::builder()
                    .property_path("/Properties/Size")
                    .expected_value("1")
                    .actual_value("2")
                    .build(),
            )
            .build();
        assert_eq!(
            drift_answer(Some(&modified)),
            DriftAnswer::Compared(vec![
                ServiceDifference {
                    path: "VersioningConfiguration/Status".into(),
                    expected: Some("Enabled".into()),
                    actual: Some("Suspended".into())
                },
                ServiceDifference { path: "Size".into(), expected: Some(1.into()), actual: Some(2.into()) },
            ])
        );
        assert!(
            matches!(drift_answer(Some(&drift(S::NotChecked).build())), DriftAnswer::NotCheckable(why) if why.contains("NOT_CHECKED"))
        );
        assert!(matches!(drift_answer(None), DriftAnswer::NotCheckable(_)));
    }
    use super::*;

    fn event(id: &str, logical: &str, physical: &str, ty: &str, status: &str, reason: Option<&str>) -> StackEvent {
        StackEvent {
            id: id.into(),
            logical_id: logical.into(),
            physical_id: physical.into(),
            resource_type: ty.into(),
            status: status.into(),
            reason: reason.map(str::to_string),
        }
    }

    fn stack() -> LiveStack {
        LiveStack { id: "arn:stack/s/1".into(), name: "s".into(), ..pending("arn:stack/s/1", "s") }
    }

    #[test]
    fn the_first_failure_of_the_latest_operation_is_the_cause() {
        let s = stack();
        let st = "AWS::CloudFormation::Stack";
        let events = vec![
            event("1", "s", "arn:stack/s/1", st, "CREATE_IN_PROGRESS", Some("User Initiated")),
            event("2", "Old", "o", "AWS::SNS::Topic", "CREATE_FAILED", Some("an earlier operation")),
            event("3", "s", "arn:stack/s/1", st, "UPDATE_IN_PROGRESS", None),
            event("4", "Queue", "", "AWS::SQS::Queue", "UPDATE_FAILED", Some("bad name")),
            event("5", "Topic", "", "AWS::SNS::Topic", "UPDATE_FAILED", Some("Resource update cancelled")),
            event(
                "6",
                "s",
                "arn:stack/s/1",
                st,
                "UPDATE_ROLLBACK_IN_PROGRESS",
                Some("The following resource(s) failed"),
            ),
        ];
        assert_eq!(latest_operation(&s, &events).len(), 4);
        assert_eq!(first_failed(&s, &events, true).map(|e| e.logical_id.as_str()), Some("Queue"));
        let mut deleted = events.clone();
        deleted.push(event("7", "s", "arn:stack/s/1", st, "DELETE_IN_PROGRESS", None));
        assert_eq!(first_failed(&s, &deleted, true), None, "the delete failed nothing");
        assert_eq!(first_failed(&s, &deleted, false).map(|e| e.logical_id.as_str()), Some("Queue"));
        let f = Failure { nesting: vec!["Child".into()], event: events[3].clone() };
        assert_eq!(f.to_string(), "Queue (AWS::SQS::Queue, in nested stack Child) UPDATE_FAILED: bad name");
        assert_eq!(first_failed(&s, &events[..3], true), None, "no resource failed in the update yet");
    }

    #[test]
    fn statuses() {
        assert!(in_progress("UPDATE_ROLLBACK_IN_PROGRESS"));
        assert!(!in_progress("REVIEW_IN_PROGRESS"));
        assert!(stuck("REVIEW_IN_PROGRESS") && stuck("DELETE_FAILED") && stuck("UPDATE_ROLLBACK_FAILED"));
        assert!(!stuck("UPDATE_ROLLBACK_COMPLETE"));
        assert!(failed_create("ROLLBACK_COMPLETE") && !failed_create("CREATE_COMPLETE"));
        assert!(no_changes(
            "The submitted information didn't contain changes. Submit different information to create a change set."
        ));
        assert!(no_changes("No updates are to be performed."));
    }
}
