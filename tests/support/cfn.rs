//! CloudFormation templates read the way CloudFormation reads them: resources, parameter defaults,
//! and the intrinsic functions (Ref, Sub, If, conditions, Join, Split, Select, FindInMap)
//! evaluated for a given set of parameter values, so tests check what a stack would really get.

use serde_yaml_ng::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The account ID pseudo parameter resolves to this.
pub const ACCOUNT_ID: &str = "123456789012";
/// The region pseudo parameter resolves to this.
pub const REGION: &str = "us-east-1";
/// The stack name pseudo parameter resolves to this.
pub const STACK_NAME: &str = "health-canary-test";

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The text of a file in the repository.
pub fn text(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
}

/// A template in the repository, parsed.
pub fn load(rel: &str) -> Value {
    serde_yaml_ng::from_str(&text(rel)).unwrap_or_else(|e| panic!("{rel} is not YAML: {e}"))
}

/// The CloudFormation function of a node (`Ref`, `Sub`, `If`, …) and its argument, in either the
/// short (`!Sub`) or the long (`Fn::Sub:`) form.
pub fn tagged(v: &Value) -> Option<(String, &Value)> {
    match v {
        Value::Tagged(t) => Some((
            t.tag.to_string().trim_start_matches('!').to_string(),
            &t.value,
        )),
        Value::Mapping(m) if m.len() == 1 => {
            let (k, inner) = m.iter().next()?;
            let k = k.as_str()?;
            let name = k.strip_prefix("Fn::").or((k == "Ref").then_some("Ref"))?;
            Some((name.to_string(), inner))
        }
        _ => None,
    }
}

/// Whether `v` is `!Ref param`.
pub fn is_ref_to(v: &Value, param: &str) -> bool {
    matches!(tagged(v), Some((t, inner)) if t == "Ref" && inner.as_str() == Some(param))
}

/// A scalar as CloudFormation would turn it into text.
pub fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A parameter's default, as text.
pub fn param_default(t: &Value, name: &str) -> String {
    scalar(&t["Parameters"][name]["Default"])
        .unwrap_or_else(|| panic!("parameter {name} has no default"))
}

/// A template with parameter values: its defaults, overridden by the values a deploy would give.
pub struct Stack<'a> {
    template: &'a Value,
    params: BTreeMap<String, String>,
}

impl<'a> Stack<'a> {
    /// The stack `template` would be with `overrides` given at deploy time (unknown names panic,
    /// as CloudFormation rejects them).
    pub fn new(template: &'a Value, overrides: &[(&str, &str)]) -> Stack<'a> {
        let declared = template["Parameters"].as_mapping();
        let mut params: BTreeMap<String, String> = declared
            .into_iter()
            .flatten()
            .filter_map(|(k, p)| Some((k.as_str()?.to_string(), scalar(&p["Default"])?)))
            .collect();
        for (k, v) in overrides {
            assert!(
                template["Parameters"][*k].is_mapping(),
                "the template declares no parameter {k}"
            );
            params.insert(k.to_string(), v.to_string());
        }
        Stack { template, params }
    }

    /// A parameter's value (panics on a parameter without default or value: a deploy would too).
    pub fn param(&self, name: &str) -> &str {
        self.params
            .get(name)
            .unwrap_or_else(|| panic!("parameter {name} has no value"))
    }

    /// A named condition of the template.
    pub fn condition(&self, name: &str) -> bool {
        let def = &self.template["Conditions"][name];
        assert!(!def.is_null(), "the template has no condition {name}");
        self.truth(def)
    }

    /// Whether a resource exists in this stack (its Condition holds, or it has none).
    pub fn has(&self, id: &str) -> bool {
        let r = &self.template["Resources"][id];
        assert!(r.is_mapping(), "the template has no resource {id}");
        r["Condition"].as_str().is_none_or(|c| self.condition(c))
    }

    /// The resource's properties as this stack gives them (`None` when it does not exist).
    pub fn properties(&self, id: &str) -> Option<Value> {
        self.has(id)
            .then(|| self.resolve(&self.template["Resources"][id]["Properties"]))
            .flatten()
    }

    /// Every rule assertion that fails for these values, by its description.
    pub fn failed_rules(&self) -> Vec<String> {
        let rules = self.template["Rules"].as_mapping();
        rules
            .into_iter()
            .flatten()
            .flat_map(|(_, rule)| rule["Assertions"].as_sequence().into_iter().flatten())
            .filter(|a| !self.truth(&a["Assert"]))
            .map(|a| {
                a["AssertDescription"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect()
    }

    /// A node with its intrinsic functions evaluated; `None` for `AWS::NoValue`. A reference to a
    /// resource becomes `ref:<id>`, an attribute `getatt:<id>.<attribute>`.
    pub fn resolve(&self, v: &Value) -> Option<Value> {
        if let Some((f, arg)) = tagged(v) {
            return self.function(&f, arg);
        }
        match v {
            Value::Sequence(items) => Some(Value::Sequence(
                items.iter().filter_map(|i| self.resolve(i)).collect(),
            )),
            Value::Mapping(m) => Some(Value::Mapping(
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), self.resolve(v)?)))
                    .collect(),
            )),
            other => Some(other.clone()),
        }
    }

    /// `resolve`, then as text (panics if the result is not a scalar).
    pub fn string(&self, v: &Value) -> String {
        self.resolve(v)
            .as_ref()
            .and_then(scalar)
            .unwrap_or_else(|| panic!("not a string after resolving: {v:?}"))
    }

    fn truth(&self, v: &Value) -> bool {
        match self.resolve(v) {
            Some(Value::Bool(b)) => b,
            other => panic!("not a condition: {v:?} resolved to {other:?}"),
        }
    }

    fn function(&self, f: &str, arg: &Value) -> Option<Value> {
        let args = || arg.as_sequence().map(Vec::as_slice).unwrap_or_default();
        let text = |v: &Value| self.string(v);
        Some(match f {
            "Ref" => return self.reference(arg.as_str().expect("Ref of a name")),
            "GetAtt" => {
                let path = match arg {
                    Value::String(s) => s.clone(),
                    _ => args()
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join("."),
                };
                Value::from(format!("getatt:{path}"))
            }
            "Sub" => Value::from(self.sub(arg)),
            "If" => {
                let a = args();
                let chosen = if self.condition(a[0].as_str().expect("If names a condition")) {
                    &a[1]
                } else {
                    &a[2]
                };
                return self.resolve(chosen);
            }
            "Condition" => Value::Bool(self.condition(arg.as_str().expect("a condition name"))),
            "Equals" => Value::Bool(text(&args()[0]) == text(&args()[1])),
            "Not" => Value::Bool(!self.truth(&args()[0])),
            "And" => Value::Bool(args().iter().all(|c| self.truth(c))),
            "Or" => Value::Bool(args().iter().any(|c| self.truth(c))),
            "Join" => {
                let a = args();
                let list = self.resolve(&a[1]).expect("Join of a list");
                let parts: Vec<String> = list
                    .as_sequence()
                    .expect("Join of a list")
                    .iter()
                    .filter_map(scalar)
                    .collect();
                Value::from(parts.join(a[0].as_str().expect("a literal delimiter")))
            }
            "Split" => {
                let a = args();
                let delimiter = a[0].as_str().expect("a literal delimiter");
                Value::Sequence(text(&a[1]).split(delimiter).map(Value::from).collect())
            }
            "Select" => {
                let a = args();
                let index: usize = text(&a[0]).parse().expect("Select index");
                let list = self.resolve(&a[1]).expect("Select from a list");
                list.as_sequence().expect("Select from a list")[index].clone()
            }
            "FindInMap" => {
                let a = args();
                self.template["Mappings"][text(&a[0])][text(&a[1])][text(&a[2])].clone()
            }
            other => panic!("intrinsic function {other} is not evaluated by this reader"),
        })
    }

    fn reference(&self, name: &str) -> Option<Value> {
        Some(Value::from(match name {
            "AWS::NoValue" => return None,
            "AWS::Region" => REGION.to_string(),
            "AWS::AccountId" => ACCOUNT_ID.to_string(),
            "AWS::Partition" => "aws".to_string(),
            "AWS::StackName" => STACK_NAME.to_string(),
            _ if self.params.contains_key(name) => self.param(name).to_string(),
            _ if self.template["Resources"][name].is_mapping() => format!("ref:{name}"),
            _ => panic!("Ref to {name}, which is neither a parameter nor a resource"),
        }))
    }

    /// `!Sub "text"` or `!Sub ["text", {Var: value}]`; `${!Literal}` stays `${Literal}`.
    fn sub(&self, arg: &Value) -> String {
        let (template, vars) = match arg {
            Value::String(s) => (s.as_str(), None),
            Value::Sequence(a) => (a[0].as_str().expect("Sub text"), a[1].as_mapping()),
            other => panic!("Sub of {other:?}"),
        };
        let mut out = String::new();
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}').expect("closed ${");
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str(&format!("${{{literal}}}"));
            } else if let Some(v) = vars.and_then(|m| m.get(name)) {
                out.push_str(&self.string(v));
            } else if let Some((res, attr)) = name.split_once('.') {
                out.push_str(&format!("getatt:{res}.{attr}"));
            } else {
                let v = self.reference(name).expect("Sub of AWS::NoValue");
                out.push_str(&scalar(&v).unwrap_or_default());
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }
}
