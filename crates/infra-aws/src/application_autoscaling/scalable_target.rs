//! `AWS::ApplicationAutoScaling::ScalableTarget`: capacity bounds, suspension and scheduled
//! actions, all updated in place (RegisterScalableTarget is an upsert). Ref is
//! `ResourceId|ScalableDimension|ServiceNamespace`; GetAtt `Id` is the same.

use super::{AutoScaling, TargetId};
use crate::kit::errors::absent_if_missing;
use crate::kit::props::Props;
use crate::kit::readback::{conform, omit_defaults, ObjectBuilder};
use crate::kit::service::ResourceType;
use aws_sdk_applicationautoscaling::types::{ScalableTarget, ScalableTargetAction, ScheduledAction, SuspendedState};
use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use infra_core::provider::{
    Applied, Attributes, CreateRequest, DeleteRequest, ErrorKind, Observed, ProviderError, ReadRequest,
    ResourceContext, UpdateRequest,
};
use serde_json::{json, Value};

const REGISTER: &str = "RegisterScalableTarget";

fn target_id(props: Props<'_>) -> Result<TargetId, ProviderError> {
    Ok(TargetId {
        resource_id: props.required_string("ResourceId")?,
        scalable_dimension: props.required_string("ScalableDimension")?,
        service_namespace: props.required_string("ServiceNamespace")?,
    })
}

fn applied(target: &TargetId) -> Applied {
    let id = target.render();
    let mut attributes = Attributes::new();
    attributes.insert("Id".into(), Value::String(id.clone()));
    Applied { physical_id: id, attributes }
}

/// A scheduled action as the template has it, ready to send.
#[derive(Clone, Debug, PartialEq)]
struct Schedule {
    name: String,
    schedule: String,
    timezone: Option<String>,
    start: Option<DateTime>,
    end: Option<DateTime>,
    min: Option<i32>,
    max: Option<i32>,
}

fn timestamp(props: Props<'_>, key: &str) -> Result<Option<DateTime>, ProviderError> {
    props
        .string(key)?
        .map(|s| {
            DateTime::from_str(&s, Format::DateTime).map_err(|_| {
                ProviderError::new(
                    ErrorKind::Invalid,
                    "PutScheduledAction",
                    format!("property {key} must be a timestamp such as 2030-01-01T00:00:00Z, not {s:?}"),
                )
            })
        })
        .transpose()
}

fn schedules(props: Props<'_>) -> Result<Vec<Schedule>, ProviderError> {
    Ok(props
        .objects("ScheduledActions", |a| {
            let (min, max) = a
                .object("ScalableTargetAction", |t| Ok((t.int("MinCapacity")?, t.int("MaxCapacity")?)))?
                .unwrap_or((None, None));
            Ok(Schedule {
                name: a.required_string("ScheduledActionName")?,
                schedule: a.required_string("Schedule")?,
                timezone: a.string("Timezone")?,
                start: timestamp(a, "StartTime")?,
                end: timestamp(a, "EndTime")?,
                min,
                max,
            })
        })?
        .unwrap_or_default())
}

async fn register(p: &AutoScaling, target: &TargetId, props: Props<'_>) -> Result<(), ProviderError> {
    let min = props.int("MinCapacity")?;
    let max = props.int("MaxCapacity")?;
    let role = props.string("RoleARN")?;
    let suspended = props.object("SuspendedState", |s| {
        Ok(SuspendedState::builder()
            .set_dynamic_scaling_in_suspended(s.bool("DynamicScalingInSuspended")?)
            .set_dynamic_scaling_out_suspended(s.bool("DynamicScalingOutSuspended")?)
            .set_scheduled_scaling_suspended(s.bool("ScheduledScalingSuspended")?)
            .build())
    })?;
    p.call(REGISTER, || {
        p.client
            .register_scalable_target()
            .service_namespace(target.namespace())
            .resource_id(&target.resource_id)
            .scalable_dimension(target.dimension())
            .set_min_capacity(min)
            .set_max_capacity(max)
            .set_role_arn(role.clone())
            .set_suspended_state(suspended.clone())
            .send()
    })
    .await?;
    Ok(())
}

async fn put_schedule(p: &AutoScaling, target: &TargetId, s: &Schedule) -> Result<(), ProviderError> {
    let action = ScalableTargetAction::builder().set_min_capacity(s.min).set_max_capacity(s.max).build();
    p.call("PutScheduledAction", || {
        p.client
            .put_scheduled_action()
            .service_namespace(target.namespace())
            .resource_id(&target.resource_id)
            .scalable_dimension(target.dimension())
            .scheduled_action_name(&s.name)
            .schedule(&s.schedule)
            .set_timezone(s.timezone.clone())
            .set_start_time(s.start)
            .set_end_time(s.end)
            .scalable_target_action(action.clone())
            .send()
    })
    .await?;
    Ok(())
}

async fn delete_schedule(p: &AutoScaling, target: &TargetId, name: &str) -> Result<(), ProviderError> {
    absent_if_missing(
        p.call("DeleteScheduledAction", || {
            p.client
                .delete_scheduled_action()
                .service_namespace(target.namespace())
                .resource_id(&target.resource_id)
                .scalable_dimension(target.dimension())
                .scheduled_action_name(name)
                .send()
        })
        .await,
    )?;
    Ok(())
}

/// The target's coordinates from its last-applied properties, else from its ID.
fn recorded_target(properties: &Value, physical_id: &str) -> Result<TargetId, ProviderError> {
    match Props::root(properties, "DescribeScalableTargets").and_then(target_id) {
        Ok(t) => Ok(t),
        Err(_) => TargetId::parse(physical_id, "DescribeScalableTargets"),
    }
}

async fn describe(p: &AutoScaling, target: &TargetId) -> Result<Option<ScalableTarget>, ProviderError> {
    let out = p
        .call("DescribeScalableTargets", || {
            p.client
                .describe_scalable_targets()
                .service_namespace(target.namespace())
                .resource_ids(&target.resource_id)
                .scalable_dimension(target.dimension())
                .send()
        })
        .await?;
    Ok(out.scalable_targets().iter().find(|t| t.resource_id() == target.resource_id).cloned())
}

async fn scheduled_actions(p: &AutoScaling, target: &TargetId) -> Result<Vec<ScheduledAction>, ProviderError> {
    let mut found = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let page = p
            .call("DescribeScheduledActions", || {
                p.client
                    .describe_scheduled_actions()
                    .service_namespace(target.namespace())
                    .resource_id(&target.resource_id)
                    .scalable_dimension(target.dimension())
                    .set_next_token(next.clone())
                    .send()
            })
            .await?;
        found.extend(page.scheduled_actions().iter().cloned());
        match page.next_token() {
            Some(token) if !token.is_empty() => next = Some(token.to_string()),
            _ => return Ok(found),
        }
    }
}

/// A timestamp in the template's spelling when it denotes the same instant.
fn timestamp_value(observed: Option<&DateTime>, template: Option<&Value>) -> Option<Value> {
    let observed = observed?;
    if let Some(text) = template.and_then(Value::as_str) {
        if DateTime::from_str(text, Format::DateTime).ok().as_ref() == Some(observed) {
            return Some(Value::String(text.to_string()));
        }
    }
    observed.fmt(Format::DateTime).ok().map(Value::String)
}

fn schedule_value(a: &ScheduledAction, template: Option<&Value>) -> Value {
    let field = |key: &str| template.and_then(|t| t.get(key));
    ObjectBuilder::new()
        .string("ScheduledActionName", Some(a.scheduled_action_name()))
        .string("Schedule", Some(a.schedule()))
        .string("Timezone", a.timezone().filter(|tz| field("Timezone").is_some() || *tz != "UTC"))
        .put("StartTime", timestamp_value(a.start_time(), field("StartTime")))
        .put("EndTime", timestamp_value(a.end_time(), field("EndTime")))
        .object(
            "ScalableTargetAction",
            a.scalable_target_action().map(|t| {
                ObjectBuilder::new().int("MinCapacity", t.min_capacity()).int("MaxCapacity", t.max_capacity()).build()
            }),
        )
        .build()
}

/// `AWS::ApplicationAutoScaling::ScalableTarget`.
pub(crate) struct ScalableTargetType;

#[async_trait::async_trait]
impl ResourceType<AutoScaling> for ScalableTargetType {
    fn type_name(&self) -> &'static str {
        "AWS::ApplicationAutoScaling::ScalableTarget"
    }

    /// A scalable target's ID follows from its properties, so it is known before the create
    /// and a target registered just before a crash can be read back by it.
    fn physical_name(&self, _context: &ResourceContext, properties: &Value) -> Option<String> {
        let field = |key: &str| properties.get(key).and_then(Value::as_str).map(str::to_string);
        let target = TargetId {
            resource_id: field("ResourceId")?,
            scalable_dimension: field("ScalableDimension")?,
            service_namespace: field("ServiceNamespace")?,
        };
        Some(target.render())
    }

    async fn create(&self, p: &AutoScaling, req: &CreateRequest) -> Result<Applied, ProviderError> {
        let props = Props::root(&req.properties, REGISTER)?;
        let target = target_id(props)?;
        let wanted = schedules(props)?;
        register(p, &target, props).await?;
        for s in &wanted {
            put_schedule(p, &target, s).await?;
        }
        Ok(applied(&target))
    }

    async fn read(&self, p: &AutoScaling, req: &ReadRequest) -> Result<Option<Observed>, ProviderError> {
        let target = recorded_target(&req.properties, &req.physical_id)?;
        let Some(live) = describe(p, &target).await? else {
            return Ok(None);
        };
        let template = &req.properties;
        let template_actions: Vec<&Value> =
            template.get("ScheduledActions").and_then(Value::as_array).map(|a| a.iter().collect()).unwrap_or_default();
        let named = |name: &str| {
            template_actions.iter().position(|t| t.get("ScheduledActionName").and_then(Value::as_str) == Some(name))
        };
        let mut actions = scheduled_actions(p, &target).await?;
        actions.sort_by(|a, b| {
            let rank = |x: &ScheduledAction| named(x.scheduled_action_name()).unwrap_or(usize::MAX);
            rank(a).cmp(&rank(b)).then_with(|| a.scheduled_action_name().cmp(b.scheduled_action_name()))
        });
        let actions: Vec<Value> = actions
            .iter()
            .map(|a| schedule_value(a, named(a.scheduled_action_name()).and_then(|i| template_actions.get(i).copied())))
            .collect();
        let suspended = live.suspended_state().map(|s| {
            let mut v = ObjectBuilder::new()
                .bool("DynamicScalingInSuspended", s.dynamic_scaling_in_suspended())
                .bool("DynamicScalingOutSuspended", s.dynamic_scaling_out_suspended())
                .bool("ScheduledScalingSuspended", s.scheduled_scaling_suspended())
                .build();
            let defaults = [
                ("DynamicScalingInSuspended", json!(false)),
                ("DynamicScalingOutSuspended", json!(false)),
                ("ScheduledScalingSuspended", json!(false)),
            ];
            omit_defaults(&mut v, template.get("SuspendedState").unwrap_or(&Value::Null), &defaults);
            v
        });
        let has_actions = !actions.is_empty();
        let observed = ObjectBuilder::new()
            .string("ResourceId", Some(live.resource_id()))
            .string("ScalableDimension", Some(live.scalable_dimension().as_str()))
            .string("ServiceNamespace", Some(live.service_namespace().as_str()))
            .int("MinCapacity", Some(live.min_capacity()))
            .int("MaxCapacity", Some(live.max_capacity()))
            // Without one in the template AWS uses its service-linked role; that is no drift.
            .string("RoleARN", template.get("RoleARN").and(Some(live.role_arn())).filter(|r| !r.is_empty()))
            .put(
                "SuspendedState",
                suspended.filter(|s| {
                    template.get("SuspendedState").is_some() || s.as_object().is_some_and(|m| !m.is_empty())
                }),
            )
            .put(
                "ScheduledActions",
                (has_actions || template.get("ScheduledActions").is_some()).then_some(Value::Array(actions)),
            )
            .build();
        let Applied { physical_id, attributes } = applied(&target);
        Ok(Some(Observed { physical_id, properties: conform(observed, Some(template)), attributes, failure: None }))
    }

    async fn update(&self, p: &AutoScaling, req: &UpdateRequest) -> Result<Applied, ProviderError> {
        let new = Props::root(&req.new_properties, REGISTER)?;
        let old = Props::root(&req.old_properties, REGISTER)?;
        let target = target_id(new)?;
        if target_id(old)? != target {
            return Err(ProviderError::new(
                ErrorKind::Unsupported,
                REGISTER,
                "a scalable target's ResourceId, ScalableDimension and ServiceNamespace cannot change in place",
            ));
        }
        let before = schedules(old)?;
        let after = schedules(new)?;
        // Actions go first so a narrowed capacity range never rejects a still-scheduled one.
        for gone in before.iter().filter(|b| !after.iter().any(|a| a.name == b.name)) {
            delete_schedule(p, &target, &gone.name).await?;
        }
        register(p, &target, new).await?;
        for changed in after.iter().filter(|a| !before.contains(a)) {
            put_schedule(p, &target, changed).await?;
        }
        Ok(applied(&target))
    }

    async fn delete(&self, p: &AutoScaling, req: &DeleteRequest) -> Result<(), ProviderError> {
        let target = recorded_target(&req.properties, &req.physical_id)?;
        absent_if_missing(
            p.call("DeregisterScalableTarget", || {
                p.client
                    .deregister_scalable_target()
                    .service_namespace(target.namespace())
                    .resource_id(&target.resource_id)
                    .scalable_dimension(target.dimension())
                    .send()
            })
            .await,
        )?;
        Ok(())
    }
}
