//! The EC2 routing types against a local AWS through the real SDK: route tables, routes and
//! subnet associations, each through its life cycle (create, read back exactly as applied so
//! a re-plan is quiet, in-place update, replacement, delete, gone), and a create whose answer
//! was lost, which never makes a second one. Route tables are found by the intent tag their
//! create carries; routes and associations cannot carry tags, so they are found by what
//! identifies them (table and destination; subnet and table).

mod ec2_support;

use ec2_support::{context, create, delete, find, read, settings, update};
use infra_aws::ec2::Ec2Provider;
use infra_aws::testing::{Account, Fault, FaultProxy, LocalAws};
use infra_core::provider::{Applied, ErrorKind, Observed, INTENT_TAG};
use serde_json::{json, Value};
const ROUTE_TABLE: &str = "AWS::EC2::RouteTable";
const ROUTE: &str = "AWS::EC2::Route";
const ASSOCIATION: &str = "AWS::EC2::SubnetRouteTableAssociation";

struct World {
    account: Account,
    provider: Ec2Provider,
    ec2: aws_sdk_ec2::Client,
}

async fn world() -> World {
    let aws = LocalAws::shared().expect("local AWS");
    let account = aws.account().await.expect("account");
    let config = account.sdk_config().await.expect("config");
    World { provider: Ec2Provider::with_settings(&config, settings()), ec2: aws_sdk_ec2::Client::new(&config), account }
}

/// A provider whose `CreateX` calls meet `fault` on their first attempt only.
async fn faulty(w: &World, action: &'static str, fault: Fault) -> (FaultProxy, Ec2Provider) {
    let aws = LocalAws::shared().expect("local AWS");
    let proxy = FaultProxy::start(aws.endpoint_url(), move |a, nth| (a == action && nth == 1).then_some(fault))
        .await
        .expect("proxy");
    let config = w.account.sdk_config_via(&proxy.url).await.expect("config");
    (proxy, Ec2Provider::with_settings(&config, settings()))
}

impl World {
    async fn vpc(&self, cidr: &str) -> String {
        let out = self.ec2.create_vpc().cidr_block(cidr).send().await.expect("vpc");
        out.vpc.and_then(|v| v.vpc_id).expect("VPC ID")
    }

    async fn subnet(&self, vpc: &str, cidr: &str) -> String {
        let out = self.ec2.create_subnet().vpc_id(vpc).cidr_block(cidr).send().await.expect("subnet");
        out.subnet.and_then(|s| s.subnet_id).expect("subnet ID")
    }

    async fn internet_gateway(&self, vpc: &str) -> String {
        let out = self.ec2.create_internet_gateway().send().await.expect("igw");
        let id = out.internet_gateway.and_then(|g| g.internet_gateway_id).expect("igw ID");
        self.ec2.attach_internet_gateway().internet_gateway_id(&id).vpc_id(vpc).send().await.expect("attach");
        id
    }

    async fn nat_gateway(&self, subnet: &str) -> String {
        let eip = self.ec2.allocate_address().send().await.expect("address").allocation_id.expect("allocation");
        let out = self.ec2.create_nat_gateway().subnet_id(subnet).allocation_id(eip).send().await.expect("nat");
        out.nat_gateway.and_then(|n| n.nat_gateway_id).expect("NAT gateway ID")
    }

    /// The route tables carrying the intent tag `token`, as EC2 itself reports them.
    async fn tables_carrying(&self, token: &str) -> Vec<String> {
        let filter = aws_sdk_ec2::types::Filter::builder().name(format!("tag:{INTENT_TAG}")).values(token).build();
        let out = self.ec2.describe_route_tables().filters(filter).send().await.expect("describe");
        out.route_tables().iter().filter_map(|t| t.route_table_id().map(str::to_string)).collect()
    }

    /// The live tags of a route table, sorted, as EC2 itself reports them.
    async fn table_tags(&self, id: &str) -> Vec<(String, String)> {
        let out = self.ec2.describe_route_tables().route_table_ids(id).send().await.expect("describe");
        let mut tags: Vec<(String, String)> = out
            .route_tables()
            .iter()
            .flat_map(|t| t.tags())
            .map(|t| (t.key().unwrap_or("").to_string(), t.value().unwrap_or("").to_string()))
            .collect();
        tags.sort();
        tags
    }

    /// The destinations of the routes infra may make in a table (not the VPC's local route).
    async fn routes(&self, table: &str) -> Vec<String> {
        let out = self.ec2.describe_route_tables().route_table_ids(table).send().await.expect("describe");
        out.route_tables()
            .iter()
            .flat_map(|t| t.routes())
            .filter(|r| r.gateway_id() != Some("local"))
            .filter_map(|r| r.destination_cidr_block().or(r.destination_ipv6_cidr_block()).map(str::to_string))
            .collect()
    }

    /// The association IDs of a subnet, as EC2 itself reports them.
    async fn associations_of(&self, subnet: &str) -> Vec<String> {
        let filter = aws_sdk_ec2::types::Filter::builder().name("association.subnet-id").values(subnet).build();
        let out = self.ec2.describe_route_tables().filters(filter).send().await.expect("describe");
        out.route_tables()
            .iter()
            .flat_map(|t| t.associations())
            .filter(|a| a.subnet_id() == Some(subnet))
            .filter_map(|a| a.route_table_association_id().map(str::to_string))
            .collect()
    }
}

/// What `find` finds by `token`, which must not fail.
async fn found_by_token(p: &Ec2Provider, ty: &str, token: &str, properties: &Value) -> Option<Observed> {
    find(p, ty, token, properties).await.unwrap_or_else(|e| panic!("find {token}: {e}"))
}

/// Reads `id` back and checks it equals what was applied, properties and attributes.
async fn check_read_back(p: &Ec2Provider, ty: &str, applied: &Applied, properties: &Value, label: &str) {
    let observed = read(p, ty, &applied.physical_id, properties).await.unwrap_or_else(|| panic!("{label}: gone"));
    assert_eq!(observed.physical_id, applied.physical_id, "{label}");
    assert_eq!(&observed.properties, properties, "{label}: read-back differs");
    assert_eq!(observed.attributes, applied.attributes, "{label}: attributes differ");
    assert_eq!(observed.failure, None, "{label}");
}

/// Deletes `id`, checks it reads as gone, and that a second delete still succeeds.
async fn check_delete(p: &Ec2Provider, ty: &str, id: &str, properties: &Value) {
    delete(p, ty, id).await.unwrap_or_else(|e| panic!("delete {id}: {e}"));
    assert!(read(p, ty, id, properties).await.is_none(), "{id} still there after delete");
    delete(p, ty, id).await.unwrap_or_else(|e| panic!("second delete {id}: {e}"));
}

/// A route table: create with tags in the create call, read back, tags changed in place
/// (never the intent tag), another VPC refused in place and made as a new table, delete.
#[tokio::test]
async fn route_table_life_cycle() {
    let w = world().await;
    let (vpc, other_vpc) = (w.vpc("10.10.0.0/16").await, w.vpc("10.11.0.0/16").await);
    let proxy =
        FaultProxy::start(LocalAws::shared().expect("local AWS").endpoint_url(), |_, _| None).await.expect("proxy");
    let config = w.account.sdk_config_via(&proxy.url).await.expect("config");
    let p = Ec2Provider::with_settings(&config, settings());

    let first = json!({"VpcId": vpc, "Tags": [{"Key": "team", "Value": "ml"}, {"Key": "cost", "Value": 42}]});
    let created = create(&p, ROUTE_TABLE, "rt-token", &first).await.expect("create");
    let id = created.physical_id.clone();
    assert!(id.starts_with("rtb-"), "{id}");
    assert_eq!(created.attributes.get("RouteTableId"), Some(&json!(id)));
    // One call made the table and its tags.
    assert_eq!((proxy.seen("CreateRouteTable"), proxy.seen("CreateTags")), (1, 0));
    assert_eq!(
        w.table_tags(&id).await,
        vec![
            ("cost".to_string(), "42".to_string()),
            (INTENT_TAG.to_string(), "rt-token".to_string()),
            ("team".to_string(), "ml".to_string())
        ]
    );
    check_read_back(&p, ROUTE_TABLE, &created, &first, "created").await;

    // Found by its token, in the template's shape; another token finds nothing.
    let found = found_by_token(&p, ROUTE_TABLE, "rt-token", &first).await.expect("found");
    assert_eq!((found.physical_id.as_str(), &found.properties), (id.as_str(), &first));
    assert_eq!(found_by_token(&p, ROUTE_TABLE, "other-token", &first).await, None);

    let mut applied = first.clone();
    for (i, step) in [
        json!({"VpcId": vpc, "Tags": [{"Key": "cost", "Value": "43"}, {"Key": "env", "Value": "dev"}]}),
        json!({"VpcId": vpc, "Tags": []}),
        json!({"VpcId": vpc}),
    ]
    .into_iter()
    .enumerate()
    {
        let updated =
            update(&p, ROUTE_TABLE, &id, &applied, &step, &created).await.unwrap_or_else(|e| panic!("step {i}: {e}"));
        assert_eq!(updated, created, "step {i}: same table, same attributes");
        check_read_back(&p, ROUTE_TABLE, &updated, &step, &format!("step {i}")).await;
        assert!(w.table_tags(&id).await.contains(&(INTENT_TAG.to_string(), "rt-token".to_string())), "step {i}");
        applied = step;
    }

    // Another VPC needs another table: refused in place, made anew.
    let moved = json!({"VpcId": other_vpc});
    let err = update(&p, ROUTE_TABLE, &id, &applied, &moved, &created).await.expect_err("create-only");
    assert_eq!(
        (err.kind, err.to_string()),
        (ErrorKind::Invalid, "CreateTags failed: VpcId cannot change without replacing the route table".to_string())
    );
    let replacement = create(&p, ROUTE_TABLE, "rt-token-2", &moved).await.expect("replacement");
    assert_ne!(replacement.physical_id, id);
    check_read_back(&p, ROUTE_TABLE, &replacement, &moved, "replacement").await;
    check_delete(&p, ROUTE_TABLE, &id, &applied).await;
    check_read_back(&p, ROUTE_TABLE, &replacement, &moved, "replacement after the old one went").await;
    check_delete(&p, ROUTE_TABLE, &replacement.physical_id, &moved).await;
}

/// Bad input is refused before any call, naming the property; missing tables, routes and
/// associations read as absent and delete as done.
#[tokio::test]
async fn bad_input_and_missing_resources() {
    let w = world().await;
    let cases = [
        (ROUTE_TABLE, json!({}), "CreateRouteTable failed: property VpcId is required"),
        (
            ROUTE_TABLE,
            json!({"VpcId": "vpc-1", "Tags": [{"Key": INTENT_TAG, "Value": "mine"}]}),
            "CreateRouteTable failed: property Tags.0.Key: the tag infra:intent is reserved for infra's own bookkeeping",
        ),
        (ROUTE, json!({"RouteTableId": "rtb-1", "GatewayId": "igw-1"}), "CreateRoute failed: one of the properties DestinationCidrBlock, DestinationIpv6CidrBlock, DestinationPrefixListId is required"),
        (
            ROUTE,
            json!({"RouteTableId": "rtb-1", "DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1", "NatGatewayId": "nat-1"}),
            "CreateRoute failed: a route has exactly one target, not GatewayId and NatGatewayId",
        ),
        (ASSOCIATION, json!({"SubnetId": "subnet-1"}), "AssociateRouteTable failed: property RouteTableId is required"),
    ];
    for (ty, props, expected) in cases {
        let err = create(&w.provider, ty, "bad", &props).await.expect_err("invalid");
        assert_eq!((err.kind, err.to_string()), (ErrorKind::Invalid, expected.to_string()), "{props}");
    }
    // EC2's own refusal of a table in a VPC that does not exist.
    let err =
        create(&w.provider, ROUTE_TABLE, "bad", &json!({"VpcId": "vpc-0123456789abcdef0"})).await.expect_err("no VPC");
    assert_eq!(err.kind, ErrorKind::NotFound, "{err}");
    assert!(w.tables_carrying("bad").await.is_empty());

    let vpc = w.vpc("10.12.0.0/16").await;
    let table = create(&w.provider, ROUTE_TABLE, "t", &json!({"VpcId": vpc})).await.expect("table").physical_id;
    for (ty, id) in [
        (ROUTE_TABLE, "rtb-0123456789abcdef0".to_string()),
        (ROUTE, "rtb-0123456789abcdef0|0.0.0.0/0".to_string()),
        // The table is there, the route is not.
        (ROUTE, format!("{table}|0.0.0.0/0")),
        (ASSOCIATION, "rtbassoc-0123456789abcdef0".to_string()),
    ] {
        assert!(read(&w.provider, ty, &id, &json!({})).await.is_none(), "{ty} {id}");
        delete(&w.provider, ty, &id).await.unwrap_or_else(|e| panic!("{ty} {id}: gone is done: {e}"));
    }
    let err = delete(&w.provider, ROUTE, "rtb-1").await.expect_err("not a route ID");
    assert_eq!(err.kind, ErrorKind::Invalid, "{err}");
}

/// A route: its ID is the table and the destination; another target is `ReplaceRoute` in
/// place, another destination a new route; delete.
#[tokio::test]
async fn route_life_cycle() {
    let w = world().await;
    let vpc = w.vpc("10.20.0.0/16").await;
    let subnet = w.subnet(&vpc, "10.20.1.0/24").await;
    let (igw, nat) = (w.internet_gateway(&vpc).await, w.nat_gateway(&subnet).await);
    let table = create(&w.provider, ROUTE_TABLE, "t", &json!({"VpcId": vpc})).await.expect("table").physical_id;
    let p = &w.provider;

    let first = json!({"RouteTableId": table, "DestinationCidrBlock": "0.0.0.0/0", "GatewayId": igw});
    let created = create(p, ROUTE, "route-token", &first).await.expect("create");
    let id = format!("{table}|0.0.0.0/0");
    assert_eq!(created.physical_id, id);
    assert_eq!(created.attributes.get("CidrBlock"), Some(&json!("0.0.0.0/0")));
    check_read_back(p, ROUTE, &created, &first, "created").await;

    // Another target, in place: the same route.
    let second = json!({"RouteTableId": table, "DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": nat});
    let updated = update(p, ROUTE, &id, &first, &second, &created).await.expect("ReplaceRoute");
    assert_eq!(updated, created);
    check_read_back(p, ROUTE, &updated, &second, "new target").await;
    assert_eq!(w.routes(&table).await, vec!["0.0.0.0/0".to_string()]);

    // Another destination is another route: refused in place, made anew, the old one deleted.
    let third = json!({"RouteTableId": table, "DestinationCidrBlock": "192.168.0.0/16", "NatGatewayId": nat});
    let err = update(p, ROUTE, &id, &second, &third, &created).await.expect_err("create-only");
    assert_eq!(
        (err.kind, err.to_string()),
        (
            ErrorKind::Invalid,
            "ReplaceRoute failed: DestinationCidrBlock cannot change without replacing the route".to_string()
        )
    );
    let replacement = create(p, ROUTE, "route-token-2", &third).await.expect("replacement");
    assert_eq!(replacement.physical_id, format!("{table}|192.168.0.0/16"));
    // A route already at a destination is not taken over by another create (moto 5.2.5
    // refuses duplicates for IPv4 destinations only, so this is checked with one).
    let err = create(p, ROUTE, "route-token-4", &third).await.expect_err("exists");
    assert_eq!(err.code.as_deref(), Some("RouteAlreadyExists"), "{err}");
    check_delete(p, ROUTE, &id, &second).await;
    check_read_back(p, ROUTE, &replacement, &third, "replacement").await;
    assert_eq!(w.routes(&table).await, vec!["192.168.0.0/16".to_string()]);

    // An IPv6 destination through the internet gateway.
    let ipv6 = json!({"RouteTableId": table, "DestinationIpv6CidrBlock": "::/0", "GatewayId": igw});
    let v6 = create(p, ROUTE, "route-token-3", &ipv6).await.expect("IPv6 route");
    assert_eq!(v6.physical_id, format!("{table}|::/0"));
    check_read_back(p, ROUTE, &v6, &ipv6, "IPv6").await;

    check_delete(p, ROUTE, &replacement.physical_id, &third).await;
    assert_eq!(w.routes(&table).await, vec!["::/0".to_string()]);
}

/// A route cannot carry the intent tag: after its create's answer was lost, the route at its
/// table and destination is the one it made, and `find` finds it there too.
#[tokio::test]
async fn a_lost_route_answer_never_makes_a_second_route() {
    let w = world().await;
    let vpc = w.vpc("10.21.0.0/16").await;
    let igw = w.internet_gateway(&vpc).await;
    let table = create(&w.provider, ROUTE_TABLE, "t", &json!({"VpcId": vpc})).await.expect("table").physical_id;
    let (proxy, p) = faulty(&w, "CreateRoute", Fault::ForwardThenDrop).await;
    let props = json!({"RouteTableId": table, "DestinationCidrBlock": "0.0.0.0/0", "GatewayId": igw});
    let created = create(&p, ROUTE, "lost-route", &props).await.expect("create");
    assert_eq!(created.physical_id, format!("{table}|0.0.0.0/0"));
    // The one attempt was carried out; nothing was sent again.
    assert_eq!((proxy.seen("CreateRoute"), proxy.forwarded("CreateRoute")), (1, 1));
    assert_eq!(w.routes(&table).await, vec!["0.0.0.0/0".to_string()]);
    let found = found_by_token(&w.provider, ROUTE, "lost-route", &props).await.expect("found by table and destination");
    assert_eq!((found.physical_id, found.properties), (created.physical_id.clone(), props.clone()));
    delete(&w.provider, ROUTE, &created.physical_id).await.expect("delete");
    assert_eq!(found_by_token(&w.provider, ROUTE, "lost-route", &props).await, None);
}

/// A lost answer to `CreateRouteTable`: the table is found by its intent tag and adopted.
#[tokio::test]
async fn a_lost_route_table_answer_never_makes_a_second_table() {
    let w = world().await;
    let vpc = w.vpc("10.22.0.0/16").await;
    let (proxy, p) = faulty(&w, "CreateRouteTable", Fault::ForwardThenDrop).await;
    let props = json!({"VpcId": vpc, "Tags": [{"Key": "team", "Value": "ml"}]});
    let created = create(&p, ROUTE_TABLE, "lost-table", &props).await.expect("create");
    assert_eq!((proxy.seen("CreateRouteTable"), proxy.forwarded("CreateRouteTable")), (1, 1));
    assert_eq!(w.tables_carrying("lost-table").await, vec![created.physical_id.clone()]);
    check_read_back(&w.provider, ROUTE_TABLE, &created, &props, "adopted").await;
}

/// An association: read back; nothing of it updates in place (the schema makes both
/// properties create-only), so another table is a new association, made before the old one
/// is deleted: the create moves the subnet, and the old association's delete finds it gone.
#[tokio::test]
async fn association_life_cycle() {
    let w = world().await;
    let vpc = w.vpc("10.30.0.0/16").await;
    let subnet = w.subnet(&vpc, "10.30.1.0/24").await;
    let p = &w.provider;
    let t1 = create(p, ROUTE_TABLE, "t1", &json!({"VpcId": vpc})).await.expect("table").physical_id;
    let t2 = create(p, ROUTE_TABLE, "t2", &json!({"VpcId": vpc})).await.expect("table").physical_id;

    let first = json!({"SubnetId": subnet, "RouteTableId": t1});
    let created = create(p, ASSOCIATION, "assoc", &first).await.expect("create");
    let id = created.physical_id.clone();
    assert!(id.starts_with("rtbassoc-"), "{id}");
    assert_eq!(created.attributes.get("Id"), Some(&json!(id)));
    check_read_back(p, ASSOCIATION, &created, &first, "created").await;
    // An update with nothing that differs changes nothing.
    let same = update(p, ASSOCIATION, &id, &first, &first, &created).await.expect("no-op update");
    assert_eq!(same, created);

    let second = json!({"SubnetId": subnet, "RouteTableId": t2});
    let err = update(p, ASSOCIATION, &id, &first, &second, &created).await.expect_err("create-only");
    assert_eq!(
        (err.kind, err.to_string()),
        (
            ErrorKind::Invalid,
            "ReplaceRouteTableAssociation failed: RouteTableId cannot change without replacing the association"
                .to_string()
        )
    );
    // Create before delete: the new association takes the subnet over.
    let replacement = create(p, ASSOCIATION, "assoc-2", &second).await.expect("replacement");
    assert_ne!(replacement.physical_id, id);
    check_read_back(p, ASSOCIATION, &replacement, &second, "replacement").await;
    assert_eq!(w.associations_of(&subnet).await, vec![replacement.physical_id.clone()]);
    check_delete(p, ASSOCIATION, &id, &first).await;
    check_read_back(p, ASSOCIATION, &replacement, &second, "after the old one's delete").await;
    assert_eq!(w.associations_of(&subnet).await, vec![replacement.physical_id.clone()]);

    // A table with a subnet associated cannot be deleted; once the association is gone it can.
    let err = delete(p, ROUTE_TABLE, &t2).await.expect_err("in use");
    assert_eq!(err.code.as_deref(), Some("DependencyViolation"), "{err}");
    check_delete(p, ASSOCIATION, &replacement.physical_id, &second).await;
    check_delete(p, ROUTE_TABLE, &t2, &json!({"VpcId": vpc})).await;
}

/// An association cannot carry the intent tag: after its create's answer was lost, the
/// subnet's association with the table is the one it made, and `find` finds it there too.
#[tokio::test]
async fn a_lost_association_answer_never_makes_a_second_association() {
    let w = world().await;
    let vpc = w.vpc("10.31.0.0/16").await;
    let subnet = w.subnet(&vpc, "10.31.1.0/24").await;
    let table = create(&w.provider, ROUTE_TABLE, "t", &json!({"VpcId": vpc})).await.expect("table").physical_id;
    let (proxy, p) = faulty(&w, "AssociateRouteTable", Fault::ForwardThenDrop).await;
    let props = json!({"SubnetId": subnet, "RouteTableId": table});
    let created = create(&p, ASSOCIATION, "lost-assoc", &props).await.expect("create");
    assert_eq!((proxy.seen("AssociateRouteTable"), proxy.forwarded("AssociateRouteTable")), (1, 1));
    assert_eq!(w.associations_of(&subnet).await, vec![created.physical_id.clone()]);
    let found =
        found_by_token(&w.provider, ASSOCIATION, "lost-assoc", &props).await.expect("found by subnet and table");
    assert_eq!((found.physical_id, found.properties), (created.physical_id.clone(), props.clone()));
    // The subnet associated with another table is not what this create made.
    let other = json!({"SubnetId": subnet, "RouteTableId": "rtb-0123456789abcdef0"});
    assert_eq!(found_by_token(&w.provider, ASSOCIATION, "lost-assoc", &other).await, None);
}

#[tokio::test]
async fn providers_cover_the_routing_types() {
    let aws = LocalAws::shared().expect("local AWS");
    let providers = aws.account().await.expect("account").providers().await.expect("providers");
    let mut registry = infra_core::provider::Registry::new();
    providers.into_iter().for_each(|p| registry.register(p).expect("one provider per type"));
    for ty in [ROUTE_TABLE, ROUTE, ASSOCIATION] {
        let ec2 = registry.for_type(ty).unwrap_or_else(|| panic!("{ty}"));
        assert_eq!(ec2.name(), "ec2", "{ty}");
        assert_eq!(ec2.physical_name(&context(ty), &json!({})), None, "{ty}");
        // The schema's create-only properties hold for all three.
        assert_eq!(ec2.create_only_properties(ty), None, "{ty}");
    }
}
