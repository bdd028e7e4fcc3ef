//! YAML text to a JSON value: the YAML parser's document tree, anchors
//! already resolved by it, turned into `serde_json::Value` so that the
//! spec can be read with serde (and checked by JSON schemas, which is what
//! the kernel's YNL tools do with the same files).

use crate::SpecError;
use serde_json::{Map, Number, Value};
use yaml_rust2::{Yaml, YamlLoader};

/// Parses one YAML document.
pub fn to_json(text: &str) -> Result<Value, SpecError> {
    let documents = YamlLoader::load_from_str(text).map_err(|e| SpecError::Yaml {
        line: e.marker().line(),
        column: e.marker().col() + 1,
        message: e.info().to_string(),
    })?;
    match documents.as_slice() {
        [document] => convert(document, "the document"),
        [] => Err(SpecError::Invalid { path: String::new(), message: "the file holds no YAML document".into() }),
        _ => Err(SpecError::Invalid {
            path: String::new(),
            message: "the file holds more than one YAML document".into(),
        }),
    }
}

fn convert(node: &Yaml, path: &str) -> Result<Value, SpecError> {
    let invalid = |message: String| SpecError::Invalid { path: path.to_string(), message };
    Ok(match node {
        Yaml::Null => Value::Null,
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Integer(i) => Value::Number((*i).into()),
        Yaml::Real(text) => {
            let number = text.parse::<f64>().ok().and_then(Number::from_f64);
            Value::Number(number.ok_or_else(|| invalid(format!("{text} is not a finite number")))?)
        }
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| convert(item, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        Yaml::Hash(hash) => {
            let mut map = Map::new();
            for (key, value) in hash {
                let Yaml::String(key) = key else {
                    return Err(invalid(format!("a mapping key is not a string: {key:?}")));
                };
                map.insert(key.clone(), convert(value, &format!("{path}.{key}"))?);
            }
            Value::Object(map)
        }
        Yaml::Alias(_) | Yaml::BadValue => {
            return Err(invalid("an unresolved alias or a value YAML cannot read".into()))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_integers_and_directives_are_read() {
        let value = to_json("%YAML 1.2\n---\na: &x {b: 0x10, c: [1, -2]}\nd: *x\ne: yes\n").unwrap();
        assert_eq!(value["a"]["b"], 16);
        assert_eq!(value["d"]["c"][1], -2);
        // YAML 1.2: only true and false are booleans.
        assert_eq!(value["e"], "yes");
    }

    #[test]
    fn errors_are_located() {
        let err = to_json("a: [1, 2\nb: 3\n").unwrap_err().to_string();
        assert!(err.starts_with("YAML error at line "), "{err}");
        let err = to_json("{[1]: 2}").unwrap_err().to_string();
        assert!(err.contains("not a string"), "{err}");
    }
}
