//! CloudFormation's intrinsic functions, evaluated as CloudFormation would
//! evaluate them for one resource, from the template and a [`Context`] of
//! values fetched beforehand (so this stays pure).
//!
//! What only a deployment knows (another resource's id or attribute, an
//! export, an SSM value not fetched) becomes a placeholder naming it
//! (`<TaskRole.Arn>`), recorded in [`Evaluator::placeholders`].

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

/// Values from outside the template, fetched before evaluation.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// `AWS::Region`; `None` for [`PLACEHOLDER_REGION`].
    pub region: Option<String>,
    /// `AWS::AccountId`; `None` for [`PLACEHOLDER_ACCOUNT`].
    pub account_id: Option<String>,
    /// `AWS::StackName` and `AWS::StackId`, from `--stack`.
    pub stack_name: Option<String>,
    pub stack_id: Option<String>,
    /// Parameter values: `--parameter`, then the deployed stack's.
    pub parameters: BTreeMap<String, String>,
    /// SSM parameter values by name: SSM-typed parameters and `{{resolve:ssm:…}}`.
    pub ssm: BTreeMap<String, String>,
    /// `{{resolve:…}}` references (the text between the braces) and their values.
    pub dynamic: BTreeMap<String, String>,
    /// The deployed stack's resources: logical id → physical id.
    pub physical_ids: BTreeMap<String, String>,
    /// The account's exports, for `Fn::ImportValue`.
    pub exports: BTreeMap<String, String>,
}

/// The region evaluated when neither the run nor the stack names one.
pub const PLACEHOLDER_REGION: &str = "us-east-1";
/// The account evaluated when no stack names one, as for the other ARNs made up offline.
pub const PLACEHOLDER_ACCOUNT: &str = "000000000000";

impl Context {
    #[must_use]
    pub fn region(&self) -> &str {
        self.region.as_deref().unwrap_or(PLACEHOLDER_REGION)
    }

    #[must_use]
    pub fn account_id(&self) -> &str {
        self.account_id.as_deref().unwrap_or(PLACEHOLDER_ACCOUNT)
    }

    #[must_use]
    pub fn partition(&self) -> &'static str {
        let region = self.region();
        if region.starts_with("cn-") {
            "aws-cn"
        } else if region.starts_with("us-gov-") {
            "aws-us-gov"
        } else {
            "aws"
        }
    }

    #[must_use]
    pub fn url_suffix(&self) -> &'static str {
        if self.region().starts_with("cn-") {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        }
    }
}

/// A problem evaluating an intrinsic, at its template path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalError {
    pub path: String,
    pub message: String,
}

fn error<T>(path: &str, message: impl Into<String>) -> Result<T, EvalError> {
    Err(EvalError {
        path: path.to_owned(),
        message: message.into(),
    })
}

/// The parts of a template evaluation reads.
#[derive(Debug, Clone, Default)]
pub struct Template {
    pub parameters: Map<String, Value>,
    pub mappings: Map<String, Value>,
    pub conditions: Map<String, Value>,
    pub resources: Map<String, Value>,
}

impl Template {
    #[must_use]
    pub fn of(document: &Map<String, Value>) -> Self {
        let part = |key: &str| match document.get(key) {
            Some(Value::Object(map)) => map.clone(),
            _ => Map::new(),
        };
        Template {
            parameters: part("Parameters"),
            mappings: part("Mappings"),
            conditions: part("Conditions"),
            resources: part("Resources"),
        }
    }

    fn resource_type(&self, id: &str) -> Option<&str> {
        self.resources.get(id)?.get("Type")?.as_str()
    }
}

/// A node of the template after its intrinsic, if any, is applied: gone
/// (`AWS::NoValue`), a part of the template to walk on (a branch of
/// `Fn::If`, or no intrinsic at all), or a computed value.
pub enum Node<'v> {
    Absent,
    At(&'v Value, String),
    Computed(Value, String),
}

/// Evaluates the intrinsics of one resource.
pub struct Evaluator<'t> {
    template: &'t Template,
    context: &'t Context,
    /// The resource being evaluated: a reference to it is circular.
    this: String,
    conditions: BTreeMap<String, bool>,
    evaluating: BTreeSet<String>,
    /// Placeholder texts produced, with the template path of each.
    pub placeholders: Vec<(String, String)>,
}

/// Whether `value` is an intrinsic function call: one key, `Ref` or `Fn::…`.
#[must_use]
pub fn intrinsic(value: &Value) -> Option<(&str, &Value)> {
    let Value::Object(map) = value else {
        return None;
    };
    if map.len() != 1 {
        return None;
    }
    let (key, argument) = map.iter().next()?;
    (key == "Ref" || key.starts_with("Fn::")).then_some((key.as_str(), argument))
}

fn at(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

impl<'t> Evaluator<'t> {
    #[must_use]
    pub fn new(template: &'t Template, context: &'t Context, this: &str) -> Self {
        Evaluator {
            template,
            context,
            this: this.to_owned(),
            conditions: BTreeMap::new(),
            evaluating: BTreeSet::new(),
            placeholders: Vec::new(),
        }
    }

    /// Applies the intrinsic at `value`, if any, without evaluating what a
    /// chosen `Fn::If` branch holds, so that its parts keep their paths.
    pub fn node<'v>(&mut self, value: &'v Value, path: &str) -> Result<Node<'v>, EvalError> {
        match intrinsic(value) {
            None => Ok(Node::At(value, path.to_owned())),
            Some(("Ref", Value::String(name))) if name == "AWS::NoValue" => Ok(Node::Absent),
            Some(("Fn::If", argument)) => {
                let path = at(path, "Fn::If");
                let [condition, then, otherwise] = arguments::<3>(argument, &path, "Fn::If")?;
                let name = condition.as_str().map_or_else(
                    || error(&index(&path, 0), "a condition name must be a string"),
                    Ok,
                )?;
                let (branch, i) = if self.condition(name, &index(&path, 0))? {
                    (then, 1)
                } else {
                    (otherwise, 2)
                };
                self.node(branch, &index(&path, i))
            }
            Some(_) => Ok(match self.eval(value, path)? {
                Some(computed) => Node::Computed(computed, path.to_owned()),
                None => Node::Absent,
            }),
        }
    }

    /// Evaluates `value` entirely; `None` is `AWS::NoValue`.
    pub fn eval(&mut self, value: &Value, path: &str) -> Result<Option<Value>, EvalError> {
        if let Some((name, argument)) = intrinsic(value) {
            return self.function(name, argument, path);
        }
        Ok(Some(match value {
            Value::String(text) => Value::String(self.dynamic(text, path)),
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    if let Some(v) = self.eval(item, &index(path, i))? {
                        out.push(v);
                    }
                }
                Value::Array(out)
            }
            Value::Object(map) => {
                let mut out = Map::new();
                for (key, item) in map {
                    if let Some(v) = self.eval(item, &at(path, key))? {
                        out.insert(key.clone(), v);
                    }
                }
                Value::Object(out)
            }
            other => other.clone(),
        }))
    }

    fn placeholder(&mut self, path: &str, text: String) -> Value {
        self.placeholders.push((path.to_owned(), text.clone()));
        Value::String(text)
    }

    #[expect(
        clippy::too_many_lines,
        reason = "one arm per CloudFormation intrinsic function"
    )]
    fn function(
        &mut self,
        name: &str,
        argument: &Value,
        path: &str,
    ) -> Result<Option<Value>, EvalError> {
        let path = &at(path, name);
        let value = match name {
            "Ref" => {
                let Value::String(target) = argument else {
                    return error(path, "`Ref` takes the name of a parameter or a resource");
                };
                if target == "AWS::NoValue" {
                    return Ok(None);
                }
                self.reference(target, None, path)?
            }
            "Fn::GetAtt" => {
                let (resource, attribute) = if let Value::String(text) = argument {
                    let Some((r, a)) = text.split_once('.') else {
                        return error(path, "`Fn::GetAtt` takes a resource and an attribute");
                    };
                    (r.to_owned(), a.to_owned())
                } else {
                    let [resource, attribute] = arguments::<2>(argument, path, name)?;
                    let resource = self.string(resource, &index(path, 0))?;
                    let attribute = self.string(attribute, &index(path, 1))?;
                    (resource, attribute)
                };
                self.reference(&resource, Some(&attribute), path)?
            }
            "Fn::Sub" => Value::String(self.sub(argument, path)?),
            "Fn::Join" => {
                let [delimiter, list] = arguments::<2>(argument, path, name)?;
                let delimiter = self.string(delimiter, &index(path, 0))?;
                let items = self.list(list, &index(path, 1))?;
                let parts: Vec<String> = items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| scalar_text(v, &index(&index(path, 1), i)))
                    .collect::<Result<_, _>>()?;
                Value::String(parts.join(&delimiter))
            }
            "Fn::Select" => {
                let [position, list] = arguments::<2>(argument, path, name)?;
                let position = match self.eval(position, &index(path, 0))? {
                    Some(Value::Number(n)) => n.as_u64(),
                    Some(Value::String(s)) => s.parse().ok(),
                    _ => None,
                };
                let Some(position) = position else {
                    return error(&index(path, 0), "`Fn::Select` takes a non-negative index");
                };
                let items = self.list(list, &index(path, 1))?;
                let len = items.len();
                match items.into_iter().nth(position as usize) {
                    Some(item) => item,
                    None => {
                        return error(
                            path,
                            format!("`Fn::Select` index {position} is out of a list of {len}"),
                        );
                    }
                }
            }
            "Fn::Split" => {
                let [delimiter, text] = arguments::<2>(argument, path, name)?;
                let delimiter = self.string(delimiter, &index(path, 0))?;
                let text = self.string(text, &index(path, 1))?;
                if delimiter.is_empty() {
                    return error(&index(path, 0), "`Fn::Split` needs a delimiter");
                }
                Value::Array(
                    text.split(delimiter.as_str())
                        .map(|s| Value::String(s.to_owned()))
                        .collect(),
                )
            }
            "Fn::If" => {
                let [condition, then, otherwise] = arguments::<3>(argument, path, name)?;
                let condition_name = condition.as_str().map_or_else(
                    || error(&index(path, 0), "a condition name must be a string"),
                    Ok,
                )?;
                return if self.condition(condition_name, &index(path, 0))? {
                    self.eval(then, &index(path, 1))
                } else {
                    self.eval(otherwise, &index(path, 2))
                };
            }
            "Fn::Equals" | "Fn::Not" | "Fn::And" | "Fn::Or" => {
                Value::Bool(self.boolean(name, argument, path)?)
            }
            "Fn::FindInMap" => {
                let [map, top, second] = arguments::<3>(argument, path, name)?;
                let map = self.string(map, &index(path, 0))?;
                let top = self.string(top, &index(path, 1))?;
                let second = self.string(second, &index(path, 2))?;
                let found = self
                    .template
                    .mappings
                    .get(&map)
                    .and_then(|m| m.get(&top))
                    .and_then(|m| m.get(&second));
                match found {
                    Some(value) => value.clone(),
                    None => {
                        return error(path, format!("mapping `{map}` has no `{top}`.`{second}`"));
                    }
                }
            }
            "Fn::Base64" => {
                use base64::Engine as _;
                let text = self.string(argument, path)?;
                Value::String(base64::engine::general_purpose::STANDARD.encode(text))
            }
            "Fn::GetAZs" => {
                let region = self.string(argument, path)?;
                let region = if region.is_empty() {
                    self.context.region().to_owned()
                } else {
                    region
                };
                Value::Array(
                    ["a", "b", "c"]
                        .iter()
                        .map(|zone| Value::String(format!("{region}{zone}")))
                        .collect(),
                )
            }
            "Fn::ImportValue" => {
                let export = self.string(argument, path)?;
                match self.context.exports.get(&export) {
                    Some(value) => Value::String(value.clone()),
                    None => self.placeholder(path, format!("<import:{export}>")),
                }
            }
            "Fn::Cidr" => {
                let [block, count, bits] = arguments::<3>(argument, path, name)?;
                let block = self.string(block, &index(path, 0))?;
                let count = self.number(count, &index(path, 1))?;
                let bits = self.number(bits, &index(path, 2))?;
                Value::Array(
                    cidr(&block, count, bits)
                        .map_or_else(|m| error(path, m), Ok)?
                        .into_iter()
                        .map(Value::String)
                        .collect(),
                )
            }
            _ => {
                return error(
                    path,
                    format!("`{name}` is not an intrinsic function this reads"),
                );
            }
        };
        Ok(Some(value))
    }

    fn string(&mut self, value: &Value, path: &str) -> Result<String, EvalError> {
        match self.eval(value, path)? {
            Some(v) => scalar_text(&v, path),
            None => error(path, "`AWS::NoValue` where a value is needed"),
        }
    }

    fn number(&mut self, value: &Value, path: &str) -> Result<u64, EvalError> {
        let text = self.string(value, path)?;
        text.parse()
            .map_or_else(|_| error(path, format!("`{text}` is not a number")), Ok)
    }

    fn list(&mut self, value: &Value, path: &str) -> Result<Vec<Value>, EvalError> {
        match self.eval(value, path)? {
            Some(Value::Array(items)) => Ok(items),
            _ => error(path, "expected a list"),
        }
    }

    /// `Ref` (`attribute` `None`) or `Fn::GetAtt` of `target`.
    fn reference(
        &mut self,
        target: &str,
        attribute: Option<&str>,
        path: &str,
    ) -> Result<Value, EvalError> {
        if attribute.is_none() {
            if let Some(value) = self.pseudo(target) {
                return Ok(Value::String(value));
            }
            if let Some(declared) = self.template.parameters.get(target) {
                return self.parameter(target, declared, path);
            }
        }
        if target == self.this || self.refers_to_this(target) {
            return error(
                path,
                format!(
                    "circular reference: `{target}` and `{}` refer to each other",
                    self.this
                ),
            );
        }
        let Some(kind) = self.template.resource_type(target).map(str::to_owned) else {
            return error(
                path,
                format!("`{target}` is neither a parameter nor a resource of the template"),
            );
        };
        let physical = self.context.physical_ids.get(target).cloned();
        let derived = match (attribute, physical) {
            (None, Some(id)) => Some(id),
            (Some(attribute), Some(id)) => self.attribute(&kind, &id, attribute),
            (_, None) => None,
        };
        Ok(if let Some(value) = derived {
            Value::String(value)
        } else {
            let text = match attribute {
                Some(attribute) => format!("<{target}.{attribute}>"),
                None => format!("<{target}>"),
            };
            self.placeholder(path, text)
        })
    }

    /// An attribute derived from a deployed resource's physical id, where
    /// its form is documented.
    fn attribute(&self, kind: &str, id: &str, attribute: &str) -> Option<String> {
        let (partition, region, account) = (
            self.context.partition(),
            self.context.region(),
            self.context.account_id(),
        );
        match (kind, attribute) {
            ("AWS::IAM::Role", "Arn") => Some(format!("arn:{partition}:iam::{account}:role/{id}")),
            ("AWS::Logs::LogGroup", "Arn") => Some(format!(
                "arn:{partition}:logs:{region}:{account}:log-group:{id}:*"
            )),
            ("AWS::ECR::Repository", "Arn") => Some(format!(
                "arn:{partition}:ecr:{region}:{account}:repository/{id}"
            )),
            ("AWS::ECR::Repository", "RepositoryUri") => Some(format!(
                "{account}.dkr.ecr.{region}.{}/{id}",
                self.context.url_suffix()
            )),
            ("AWS::SecretsManager::Secret", "Id") => Some(id.to_owned()),
            _ => None,
        }
    }

    /// Whether `resource`'s own properties refer to the resource being evaluated.
    fn refers_to_this(&self, resource: &str) -> bool {
        fn mentions(value: &Value, id: &str) -> bool {
            match value {
                Value::Object(map) => {
                    if let Some((name, argument)) = intrinsic(value) {
                        let named = match (name, argument) {
                            ("Ref", Value::String(s)) => s == id,
                            ("Fn::GetAtt", Value::Array(a)) => {
                                a.first().and_then(Value::as_str) == Some(id)
                            }
                            ("Fn::GetAtt", Value::String(s)) => s.split('.').next() == Some(id),
                            ("Fn::Sub", v) => {
                                let text = v.as_str().or_else(|| v.get(0).and_then(Value::as_str));
                                text.is_some_and(|t| {
                                    t.contains(&format!("${{{id}}}"))
                                        || t.contains(&format!("${{{id}."))
                                })
                            }
                            _ => false,
                        };
                        if named {
                            return true;
                        }
                    }
                    map.values().any(|v| mentions(v, id))
                }
                Value::Array(items) => items.iter().any(|v| mentions(v, id)),
                _ => false,
            }
        }
        self.template
            .resources
            .get(resource)
            .and_then(|r| r.get("Properties"))
            .is_some_and(|p| mentions(p, &self.this))
    }

    fn pseudo(&self, name: &str) -> Option<String> {
        let c = self.context;
        Some(match name {
            "AWS::Region" => c.region().to_owned(),
            "AWS::AccountId" => c.account_id().to_owned(),
            "AWS::Partition" => c.partition().to_owned(),
            "AWS::URLSuffix" => c.url_suffix().to_owned(),
            "AWS::StackName" => c
                .stack_name
                .clone()
                .unwrap_or_else(|| "ecs-run-local".to_owned()),
            "AWS::StackId" => c.stack_id.clone().unwrap_or_else(|| {
                format!(
                    "arn:{}:cloudformation:{}:{}:stack/{}/00000000-0000-0000-0000-000000000000",
                    c.partition(),
                    c.region(),
                    c.account_id(),
                    c.stack_name.as_deref().unwrap_or("ecs-run-local")
                )
            }),
            "AWS::NotificationARNs" => String::new(),
            _ => return None,
        })
    }

    fn parameter(&mut self, name: &str, declared: &Value, path: &str) -> Result<Value, EvalError> {
        let given = self.context.parameters.get(name).cloned().or_else(|| {
            declared.get("Default").map(|d| match d {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
        });
        let Some(value) = given else {
            return error(
                path,
                format!(
                    "parameter `{name}` has no value and no default; give one with `--parameter {name}=VALUE`"
                ),
            );
        };
        let kind = declared
            .get("Type")
            .and_then(Value::as_str)
            .unwrap_or("String");
        if kind.starts_with("AWS::SSM::Parameter::Value<") {
            let fetched = self.context.ssm.get(&value).cloned();
            let list = kind.contains("List<");
            return Ok(match fetched {
                Some(v) if list => split_list(&v),
                Some(v) => Value::String(v),
                None => self.placeholder(path, format!("<ssm:{value}>")),
            });
        }
        Ok(
            if kind == "CommaDelimitedList" || kind.starts_with("List<") {
                split_list(&value)
            } else {
                Value::String(value)
            },
        )
    }

    /// Whether the template's condition `name` holds (a resource's
    /// `Condition`), `path` naming where it is asked.
    pub fn holds(&mut self, name: &str, path: &str) -> Result<bool, EvalError> {
        self.condition(name, path)
    }

    fn condition(&mut self, name: &str, path: &str) -> Result<bool, EvalError> {
        if let Some(known) = self.conditions.get(name) {
            return Ok(*known);
        }
        let Some(body) = self.template.conditions.get(name) else {
            return error(path, format!("condition `{name}` is not in `Conditions`"));
        };
        if !self.evaluating.insert(name.to_owned()) {
            return error(path, format!("condition `{name}` depends on itself"));
        }
        let body_path = format!("Conditions.{name}");
        let result = match intrinsic(body) {
            Some((function, argument)) => self.boolean(function, argument, &body_path),
            None if body.get("Condition").is_some() => self.condition_ref(body, &body_path),
            None => error(
                &body_path,
                "a condition must be `Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or` or `Condition`",
            ),
        };
        self.evaluating.remove(name);
        let result = result?;
        self.conditions.insert(name.to_owned(), result);
        Ok(result)
    }

    fn condition_ref(&mut self, value: &Value, path: &str) -> Result<bool, EvalError> {
        match value.get("Condition") {
            Some(Value::String(name)) => self.condition(name, &at(path, "Condition")),
            _ => error(path, "`Condition` takes a condition's name"),
        }
    }

    fn boolean(&mut self, function: &str, argument: &Value, path: &str) -> Result<bool, EvalError> {
        let path = &at(path, function);
        match function {
            "Fn::Equals" => {
                let [a, b] = arguments::<2>(argument, path, function)?;
                let a = self.eval(a, &index(path, 0))?;
                let b = self.eval(b, &index(path, 1))?;
                Ok(loose(a.as_ref()) == loose(b.as_ref()))
            }
            "Fn::Not" => {
                let [a] = arguments::<1>(argument, path, function)?;
                Ok(!self.operand(a, &index(path, 0))?)
            }
            "Fn::And" | "Fn::Or" => {
                let Value::Array(items) = argument else {
                    return error(
                        path,
                        format!("`{function}` takes a list of 2 to 10 conditions"),
                    );
                };
                if !(2..=10).contains(&items.len()) {
                    return error(
                        path,
                        format!("`{function}` takes 2 to 10 conditions, got {}", items.len()),
                    );
                }
                let mut values = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    values.push(self.operand(item, &index(path, i))?);
                }
                Ok(if function == "Fn::And" {
                    values.iter().all(|v| *v)
                } else {
                    values.iter().any(|v| *v)
                })
            }
            "Condition" => self.condition_ref(
                &Value::Object(Map::from_iter([("Condition".to_owned(), argument.clone())])),
                path,
            ),
            _ => error(path, format!("`{function}` is not a condition function")),
        }
    }

    fn operand(&mut self, value: &Value, path: &str) -> Result<bool, EvalError> {
        if value
            .as_object()
            .is_some_and(|m| m.len() == 1 && m.contains_key("Condition"))
        {
            return self.condition_ref(value, path);
        }
        match intrinsic(value) {
            Some((function, argument)) if function != "Ref" && function != "Fn::If" => {
                self.boolean(function, argument, path)
            }
            _ => match self.eval(value, path)? {
                Some(Value::Bool(b)) => Ok(b),
                Some(Value::String(s)) if s == "true" || s == "false" => Ok(s == "true"),
                _ => error(path, "expected a condition"),
            },
        }
    }

    /// `Fn::Sub`: a string, or `[string, {variables}]`.
    fn sub(&mut self, argument: &Value, path: &str) -> Result<String, EvalError> {
        let (text, variables) = match argument {
            Value::String(text) => (text.as_str(), None),
            Value::Array(items) if items.len() == 2 => match (&items[0], &items[1]) {
                (Value::String(text), Value::Object(vars)) => (text.as_str(), Some(vars)),
                _ => {
                    return error(
                        path,
                        "`Fn::Sub` takes a string, or a string and a map of variables",
                    );
                }
            },
            Value::Array(items) => {
                return error(
                    path,
                    format!("`Fn::Sub` takes 1 or 2 arguments, got {}", items.len()),
                );
            }
            _ => {
                return error(
                    path,
                    "`Fn::Sub` takes a string, or a string and a map of variables",
                );
            }
        };
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                rest = "";
                break;
            };
            let name = &after[..end];
            rest = &after[end + 1..];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
                continue;
            }
            let name = name.trim();
            if let Some(value) = variables.and_then(|vars| vars.get(name)) {
                let var_path = at(&index(path, 1), name);
                if mentions_variable(value, name) {
                    return error(
                        &var_path,
                        format!("circular `Fn::Sub`: variable `{name}` refers to itself"),
                    );
                }
                let value = self.string(value, &var_path)?;
                out.push_str(&value);
                continue;
            }
            let value = match name.split_once('.') {
                Some((resource, attribute)) if !name.starts_with("AWS::") => {
                    self.reference(resource, Some(attribute), path)?
                }
                _ => self.reference(name, None, path)?,
            };
            out.push_str(&scalar_text(&value, path)?);
        }
        out.push_str(rest);
        Ok(self.dynamic(&out, path))
    }

    /// Resolves `{{resolve:ssm:NAME}}` and other dynamic references in a
    /// string from the context, else leaves a placeholder naming it.
    fn dynamic(&mut self, text: &str, path: &str) -> String {
        if !text.contains("{{resolve:") {
            return text.to_owned();
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("{{resolve:") {
            out.push_str(&rest[..start]);
            let Some(end) = rest[start..].find("}}") else {
                break;
            };
            let reference = &rest[start + 2..start + end];
            rest = &rest[start + end + 2..];
            let known = self.context.dynamic.get(reference).cloned().or_else(|| {
                let name = reference.strip_prefix("resolve:ssm:")?;
                let name = name
                    .rsplit_once(':')
                    .filter(|(_, v)| v.parse::<u64>().is_ok())
                    .map_or(name, |(n, _)| n);
                self.context.ssm.get(name).cloned()
            });
            if let Some(value) = known {
                out.push_str(&value);
            } else {
                let text = format!("<{reference}>");
                self.placeholders.push((path.to_owned(), text.clone()));
                out.push_str(&text);
            }
        }
        out.push_str(rest);
        out
    }
}

/// Whether a `Fn::Sub` variable's value substitutes the variable itself.
fn mentions_variable(value: &Value, name: &str) -> bool {
    match intrinsic(value) {
        Some(("Fn::Sub", Value::String(text))) => text.contains(&format!("${{{name}}}")),
        _ => false,
    }
}

/// Exactly `N` arguments, in a list.
fn arguments<'v, const N: usize>(
    argument: &'v Value,
    path: &str,
    name: &str,
) -> Result<[&'v Value; N], EvalError> {
    let items: Vec<&Value> = match argument {
        Value::Array(items) => items.iter().collect(),
        _ if N == 1 => vec![argument],
        _ => return error(path, format!("`{name}` takes a list of {N} arguments")),
    };
    let len = items.len();
    items.try_into().map_or_else(
        |_| {
            error(
                path,
                format!(
                    "`{name}` takes {N} {}, got {len}",
                    if N == 1 { "argument" } else { "arguments" }
                ),
            )
        },
        Ok,
    )
}

fn scalar_text(value: &Value, path: &str) -> Result<String, EvalError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => error(path, "expected a string"),
    }
}

/// CloudFormation compares condition operands as strings.
fn loose(value: Option<&Value>) -> Option<String> {
    value.map(|v| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

fn split_list(text: &str) -> Value {
    Value::Array(
        text.split(',')
            .map(|s| Value::String(s.trim().to_owned()))
            .collect(),
    )
}

/// `Fn::Cidr` for IPv4: `count` blocks of `2^bits` addresses from `block`.
fn cidr(block: &str, count: u64, bits: u64) -> Result<Vec<String>, String> {
    let bad = || format!("`{block}` is not an IPv4 CIDR block");
    let (address, prefix) = block.split_once('/').ok_or_else(bad)?;
    let address: std::net::Ipv4Addr = address.parse().map_err(|_| bad())?;
    let prefix: u32 = prefix.parse().map_err(|_| bad())?;
    if !(1..=32).contains(&bits) || prefix > 32 || u64::from(32 - prefix) < bits {
        return Err(format!(
            "`Fn::Cidr` cannot cut /{} blocks from `{block}`",
            32 - bits
        ));
    }
    let available = 1u64 << (u64::from(32 - prefix) - bits);
    if count == 0 || count > available.min(256) {
        return Err(format!(
            "`Fn::Cidr` count {count} is out of 1 to {}",
            available.min(256)
        ));
    }
    let base = u64::from(u32::from(address)) & !((1u64 << (32 - prefix)) - 1);
    Ok((0..count)
        .map(|i| {
            let start = (base + (i << bits)) as u32;
            format!("{}/{}", std::net::Ipv4Addr::from(start), 32 - bits)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template() -> Template {
        let doc = json!({
            "Parameters": {
                "Env": {"Type": "String", "Default": "dev"},
                "Tag": {"Type": "String"},
                "Subnets": {"Type": "CommaDelimitedList", "Default": "a, b"},
                "Image": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/app/image"}
            },
            "Mappings": {"Sizes": {"dev": {"Cpu": "256"}}},
            "Conditions": {
                "IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
                "NotProd": {"Fn::Not": [{"Condition": "IsProd"}]},
                "Both": {"Fn::And": [{"Condition": "NotProd"}, {"Fn::Equals": ["a", "a"]}]},
                "Loop": {"Fn::Not": [{"Condition": "Loop"}]}
            },
            "Resources": {
                "TaskDef": {"Type": "AWS::ECS::TaskDefinition"},
                "Role": {"Type": "AWS::IAM::Role"},
                "Service": {"Type": "AWS::ECS::Service", "Properties": {"TaskDefinition": {"Ref": "TaskDef"}}}
            }
        });
        Template::of(doc.as_object().unwrap())
    }

    #[allow(clippy::needless_pass_by_value)]
    fn eval_with(context: &Context, value: Value) -> Result<Option<Value>, EvalError> {
        let t = template();
        let mut e = Evaluator::new(&t, context, "TaskDef");
        e.eval(&value, "P")
    }

    fn eval(value: Value) -> Result<Option<Value>, EvalError> {
        eval_with(&Context::default(), value)
    }

    #[test]
    fn refs_and_pseudo_parameters() {
        let v = eval(json!([{"Ref": "Env"}, {"Ref": "AWS::Region"}, {"Ref": "AWS::Partition"},
            {"Ref": "AWS::URLSuffix"}, {"Ref": "AWS::AccountId"}, {"Ref": "AWS::NoValue"}, {"Ref": "Subnets"}]))
        .unwrap()
        .unwrap();
        assert_eq!(
            v,
            json!([
                "dev",
                "us-east-1",
                "aws",
                "amazonaws.com",
                "000000000000",
                ["a", "b"]
            ])
        );
        let context = Context {
            parameters: BTreeMap::from([("Env".into(), "prod".into())]),
            region: Some("cn-north-1".into()),
            ..Context::default()
        };
        let v = eval_with(&context, json!([{"Ref": "Env"}, {"Ref": "AWS::Partition"}])).unwrap();
        assert_eq!(v, Some(json!(["prod", "aws-cn"])));
    }

    #[test]
    fn a_parameter_with_neither_value_nor_default_is_named() {
        let err = eval(json!({"Ref": "Tag"})).unwrap_err();
        assert_eq!(err.path, "P.Ref");
        assert!(
            err.message.contains("`Tag` has no value and no default"),
            "{err:?}"
        );
    }

    #[test]
    fn sub_both_forms_with_literals() {
        let v = eval(json!({"Fn::Sub": "${Env}-${AWS::Region}-${!Literal}"})).unwrap();
        assert_eq!(v, Some(json!("dev-us-east-1-${Literal}")));
        let v =
            eval(json!({"Fn::Sub": ["${Name}:${Env}", {"Name": {"Fn::Join": ["", ["a", "b"]]}}]}))
                .unwrap();
        assert_eq!(v, Some(json!("ab:dev")));
        let err = eval(json!({"Fn::Sub": ["${A}", {"A": {"Fn::Sub": "x${A}"}}]})).unwrap_err();
        assert!(err.message.contains("circular `Fn::Sub`"), "{err:?}");
        let err = eval(json!({"Fn::Sub": "${TaskDef}"})).unwrap_err();
        assert!(err.message.contains("circular"), "{err:?}");
        let err = eval(json!({"Fn::Sub": "${Service}"})).unwrap_err();
        assert!(err.message.contains("circular"), "{err:?}");
    }

    #[test]
    fn list_functions() {
        let v = eval(json!([
            {"Fn::Join": ["-", ["a", {"Ref": "Env"}, 1]]},
            {"Fn::Select": ["1", {"Fn::Split": [",", "x,y,z"]}]},
            {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
            {"Fn::FindInMap": ["Sizes", {"Ref": "Env"}, "Cpu"]},
            {"Fn::Base64": "hi"},
            {"Fn::Cidr": ["10.0.0.0/16", 2, 8]}
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(
            v,
            json!([
                "a-dev-1",
                "y",
                "us-east-1a",
                "256",
                "aGk=",
                ["10.0.0.0/24", "10.0.1.0/24"]
            ])
        );
    }

    #[test]
    fn conditions() {
        let v = eval(json!([
            {"Fn::If": ["IsProd", "p", "d"]},
            {"Fn::If": ["Both", "yes", "no"]},
            {"Fn::If": ["IsProd", "p", {"Ref": "AWS::NoValue"}]}
        ]))
        .unwrap();
        assert_eq!(v, Some(json!(["d", "yes"])));
        let err = eval(json!({"Fn::If": ["Loop", 1, 2]})).unwrap_err();
        assert!(err.message.contains("depends on itself"), "{err:?}");
        let err = eval(json!({"Fn::If": ["Nope", 1, 2]})).unwrap_err();
        assert!(
            err.message.contains("`Nope` is not in `Conditions`"),
            "{err:?}"
        );
    }

    #[test]
    fn wrong_arity_names_the_path() {
        let err = eval(json!({"a": {"Fn::Join": ["-"]}})).unwrap_err();
        assert_eq!(err.path, "P.a.Fn::Join");
        assert_eq!(err.message, "`Fn::Join` takes 2 arguments, got 1");
        let err = eval(json!({"Fn::FindInMap": ["Sizes", "prod", "Cpu"]})).unwrap_err();
        assert!(err.message.contains("has no `prod`.`Cpu`"), "{err:?}");
        let err = eval(json!({"Fn::Select": [5, ["a"]]})).unwrap_err();
        assert!(err.message.contains("out of a list of 1"), "{err:?}");
    }

    #[test]
    fn resources_become_placeholders_or_deployed_values() {
        let t = template();
        let context = Context::default();
        let mut e = Evaluator::new(&t, &context, "TaskDef");
        let v = e
            .eval(
                &json!([{"Fn::GetAtt": ["Role", "Arn"]}, {"Ref": "Role"}, {"Fn::ImportValue": "X"},
                {"Ref": "Image"}, "a{{resolve:ssm:/p:2}}b"]),
                "P",
            )
            .unwrap();
        assert_eq!(
            v,
            Some(json!([
                "<Role.Arn>",
                "<Role>",
                "<import:X>",
                "<ssm:/app/image>",
                "a<resolve:ssm:/p:2>b"
            ]))
        );
        assert_eq!(e.placeholders.len(), 5);
        assert_eq!(
            e.placeholders[0],
            ("P[0].Fn::GetAtt".to_owned(), "<Role.Arn>".to_owned())
        );

        let context = Context {
            physical_ids: BTreeMap::from([("Role".into(), "stack-Role-ABC".into())]),
            ssm: BTreeMap::from([
                ("/app/image".into(), "nginx".into()),
                ("/p".into(), "v".into()),
            ]),
            account_id: Some("111122223333".into()),
            exports: BTreeMap::from([("X".into(), "x".into())]),
            ..Context::default()
        };
        let mut e = Evaluator::new(&t, &context, "TaskDef");
        let v = e
            .eval(
                &json!([{"Fn::Sub": "${Role.Arn}"}, {"Ref": "Role"}, {"Fn::ImportValue": "X"},
                {"Ref": "Image"}, "a{{resolve:ssm:/p:2}}b"]),
                "P",
            )
            .unwrap();
        assert_eq!(
            v,
            Some(json!([
                "arn:aws:iam::111122223333:role/stack-Role-ABC",
                "stack-Role-ABC",
                "x",
                "nginx",
                "avb"
            ]))
        );
        assert!(e.placeholders.is_empty());
    }

    #[test]
    fn unknown_references_are_errors() {
        let err = eval(json!({"Ref": "Nothing"})).unwrap_err();
        assert!(
            err.message
                .contains("`Nothing` is neither a parameter nor a resource"),
            "{err:?}"
        );
    }

    #[test]
    fn fn_if_nodes_keep_the_branch_path() {
        let t = template();
        let context = Context::default();
        let mut e = Evaluator::new(&t, &context, "TaskDef");
        let value = json!({"Fn::If": ["IsProd", {"A": 1}, {"B": 2}]});
        match e.node(&value, "X").unwrap() {
            Node::At(v, path) => {
                assert_eq!(v, &json!({"B": 2}));
                assert_eq!(path, "X.Fn::If[2]");
            }
            _ => panic!("expected a branch"),
        }
    }
}
