//! YAML templates, read into the JSON form CloudFormation itself works on:
//! every short-form tag (`!Ref X`, `!GetAtt A.B`, `!Sub …`) becomes its long
//! form (`{"Ref": "X"}`, `{"Fn::GetAtt": ["A", "B"]}`, `{"Fn::Sub": …}`).

use serde_json::{Map, Number, Value};
use serde_yaml_ng::Value as Yaml;

use super::SourceError;

/// The short forms CloudFormation's YAML accepts, and the long form each
/// stands for. `!GetAtt` and `!Ref`/`!Condition` are handled apart.
const FUNCTIONS: &[&str] = &[
    "Sub",
    "Join",
    "Select",
    "Split",
    "If",
    "Equals",
    "Not",
    "And",
    "Or",
    "FindInMap",
    "ImportValue",
    "Base64",
    "GetAZs",
    "Cidr",
    "Length",
    "ToJsonString",
    "Transform",
];

/// Parses YAML text into JSON, short forms translated.
pub fn parse(text: &str, source_name: &str) -> Result<Value, SourceError> {
    let yaml: Yaml = serde_yaml_ng::from_str(text).map_err(|e| {
        let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
        SourceError::Yaml {
            source_name: source_name.to_owned(),
            message: first_clause(&e.to_string()),
            line,
            column,
        }
    })?;
    convert(yaml, source_name)
}

fn first_clause(message: &str) -> String {
    message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .to_owned()
}

fn convert(yaml: Yaml, source_name: &str) -> Result<Value, SourceError> {
    Ok(match yaml {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(b),
        Yaml::Number(n) => number(&n),
        Yaml::String(s) => Value::String(s),
        Yaml::Sequence(items) => Value::Array(
            items
                .into_iter()
                .map(|item| convert(item, source_name))
                .collect::<Result<_, _>>()?,
        ),
        Yaml::Mapping(mapping) => {
            let mut object = Map::new();
            for (key, value) in mapping {
                object.insert(key_text(key), convert(value, source_name)?);
            }
            Value::Object(object)
        }
        Yaml::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let value = convert(tagged.value, source_name)?;
            let long = match name {
                "Ref" | "Condition" => name.to_owned(),
                "GetAtt" => {
                    let value = match value {
                        // `!GetAtt Role.Arn`: the logical id ends at the first dot.
                        Value::String(text) => match text.split_once('.') {
                            Some((resource, attribute)) => Value::Array(vec![
                                Value::String(resource.to_owned()),
                                Value::String(attribute.to_owned()),
                            ]),
                            None => Value::String(text),
                        },
                        other => other,
                    };
                    return Ok(single("Fn::GetAtt", value));
                }
                _ if FUNCTIONS.contains(&name) => format!("Fn::{name}"),
                _ => {
                    return Err(SourceError::Tag {
                        source_name: source_name.to_owned(),
                        tag,
                    });
                }
            };
            single(&long, value)
        }
    })
}

fn single(key: &str, value: Value) -> Value {
    let mut object = Map::new();
    object.insert(key.to_owned(), value);
    Value::Object(object)
}

fn number(n: &serde_yaml_ng::Number) -> Value {
    if let Some(i) = n.as_i64() {
        Value::Number(i.into())
    } else if let Some(u) = n.as_u64() {
        Value::Number(u.into())
    } else {
        n.as_f64()
            .and_then(Number::from_f64)
            .map_or_else(|| Value::String(n.to_string()), Value::Number)
    }
}

/// Mapping keys as text: CloudFormation's keys are strings, but YAML lets
/// `80:` or `true:` be a number or a boolean.
fn key_text(key: Yaml) -> String {
    match key {
        Yaml::String(s) => s,
        Yaml::Bool(b) => b.to_string(),
        Yaml::Number(n) => n.to_string(),
        Yaml::Null => "null".to_owned(),
        other => serde_yaml_ng::to_string(&other)
            .map(|s| s.trim_end().to_owned())
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn yaml(text: &str) -> Value {
        parse(text, "t.yaml").unwrap()
    }

    #[test]
    fn short_forms_become_long_forms() {
        let v = yaml(
            "a: !Ref P\nb: !GetAtt Role.Arn\nc: !GetAtt [Role, Arn]\nd: !Sub '${AWS::Region}-x'\n\
             e: !Join ['-', [!Ref P, b]]\nf: !If [IsProd, !Base64 x, !Ref 'AWS::NoValue']\n\
             g: !Select [0, !GetAZs '']\nh: !Condition C\ni: !FindInMap [M, K, V]\n\
             j: !Equals [!Ref P, prod]\nk: !ImportValue Shared-Vpc\nl: !Cidr [10.0.0.0/16, 2, 8]\n\
             m: !Split [',', 'a,b']\nn: !Not [!Condition C]\no: !And [!Condition C, !Condition D]\n\
             p: !Or [!Condition C, !Condition D]\n",
        );
        assert_eq!(
            v,
            json!({
                "a": {"Ref": "P"},
                "b": {"Fn::GetAtt": ["Role", "Arn"]},
                "c": {"Fn::GetAtt": ["Role", "Arn"]},
                "d": {"Fn::Sub": "${AWS::Region}-x"},
                "e": {"Fn::Join": ["-", [{"Ref": "P"}, "b"]]},
                "f": {"Fn::If": ["IsProd", {"Fn::Base64": "x"}, {"Ref": "AWS::NoValue"}]},
                "g": {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
                "h": {"Condition": "C"},
                "i": {"Fn::FindInMap": ["M", "K", "V"]},
                "j": {"Fn::Equals": [{"Ref": "P"}, "prod"]},
                "k": {"Fn::ImportValue": "Shared-Vpc"},
                "l": {"Fn::Cidr": ["10.0.0.0/16", 2, 8]},
                "m": {"Fn::Split": [",", "a,b"]},
                "n": {"Fn::Not": [{"Condition": "C"}]},
                "o": {"Fn::And": [{"Condition": "C"}, {"Condition": "D"}]},
                "p": {"Fn::Or": [{"Condition": "C"}, {"Condition": "D"}]},
            })
        );
    }

    #[test]
    fn getatt_keeps_dots_after_the_first_in_the_attribute() {
        assert_eq!(
            yaml("a: !GetAtt Db.Endpoint.Address"),
            json!({"a": {"Fn::GetAtt": ["Db", "Endpoint.Address"]}})
        );
    }

    #[test]
    fn keys_and_numbers_read_as_json() {
        assert_eq!(
            yaml("80: x\ntrue: 1.5\nn: 256"),
            json!({"80": "x", "true": 1.5, "n": 256})
        );
    }

    #[test]
    fn unknown_tags_and_syntax_errors_are_errors() {
        let err = parse("a: !Nope x", "t.yaml").unwrap_err();
        assert!(err.to_string().contains("`!Nope`"), "{err}");
        let err = parse("a: [b", "t.yaml").unwrap_err();
        assert!(
            err.to_string().starts_with("`t.yaml` is not valid YAML"),
            "{err}"
        );
    }
}
