//! One stage's `parameter_overrides` in `samconfig.toml`, read and written in place: comments, the
//! other stages and the other settings stay as written. Values are written so SAM CLI's parser
//! keeps them: an empty value as `Key=''`, because SAM CLI drops `Key=` without a word
//! (tests/rehearsal/test_parameters.py holds this file to that parser).

use std::path::{Path, PathBuf};

pub struct StageParameters {
    path: PathBuf,
    text: String,
    stage: String,
    /// The line of `parameter_overrides` in `text`.
    line: usize,
    values: Vec<(String, String)>,
}

impl StageParameters {
    pub fn read(path: &Path, stage: &str) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let header = format!("[{stage}.deploy.parameters]");
        let lines: Vec<&str> = text.lines().collect();
        let start = lines
            .iter()
            .position(|l| l.trim() == header)
            .ok_or_else(|| format!("{} has no {header} section", path.display()))?;
        let line = lines[start + 1..]
            .iter()
            .take_while(|l| !l.trim_start().starts_with('['))
            .position(|l| l.trim_start().starts_with("parameter_overrides"))
            .map(|i| start + 1 + i)
            .ok_or_else(|| format!("{header} in {} has no parameter_overrides", path.display()))?;
        let quoted = lines[line].split_once('=').map(|(_, v)| v.trim()).unwrap_or_default();
        let inner = quoted
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .ok_or_else(|| format!("parameter_overrides of {stage} must be one \"...\" string on one line"))?;
        let values = parse_overrides(inner)?;
        Ok(StageParameters { path: path.to_owned(), text: text.clone(), stage: stage.to_owned(), line, values })
    }

    pub fn stage(&self) -> &str {
        &self.stage
    }

    /// The file this stage was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A parameter's value, unless it is missing or still a `SET-…` placeholder.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).filter(|v| !v.starts_with("SET-"))
    }

    pub fn set(&mut self, key: &str, value: &str) {
        match self.values.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value.to_owned(),
            None => self.values.push((key.to_owned(), value.to_owned())),
        }
    }

    /// The overrides as SAM CLI reads them.
    pub fn overrides(&self) -> String {
        self.values
            .iter()
            .map(|(k, v)| if v.is_empty() || v.contains(' ') { format!("{k}='{v}'") } else { format!("{k}={v}") })
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn write(&self) -> Result<(), String> {
        let mut lines: Vec<String> = self.text.lines().map(str::to_owned).collect();
        lines[self.line] = format!("parameter_overrides = \"{}\"", self.overrides());
        let mut text = lines.join("\n");
        if self.text.ends_with('\n') {
            text.push('\n');
        }
        std::fs::write(&self.path, text).map_err(|e| format!("{}: {e}", self.path.display()))
    }
}

/// `Key=value Key='' Key="a b"`, as SAM CLI's shorthand; a value with a quote or a space inside,
/// other than a whole quoted value, is refused rather than guessed at.
fn parse_overrides(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut values = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=').ok_or_else(|| format!("{rest:?} is not Key=value"))?;
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(format!("{key:?} is not a parameter name"));
        }
        let (value, tail) = match after.chars().next() {
            Some(q @ ('\'' | '"')) => {
                let end = after[1..].find(q).ok_or_else(|| format!("{key}: unterminated quote"))?;
                (after[1..=end].to_owned(), &after[end + 2..])
            }
            _ => {
                let end = after.find(' ').unwrap_or(after.len());
                (after[..end].to_owned(), &after[end..])
            }
        };
        values.push((key.to_owned(), value));
        rest = tail.trim_start();
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stage_is_edited_in_place_and_empty_values_are_quoted() {
        let dir = std::env::temp_dir().join(format!("samconfig-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("samconfig.toml");
        let original = "# keep me\n[dev.deploy.parameters]\nparameter_overrides = \"Stage=dev SigningKeyArn=SET-ME\"\n\n[prod.deploy.parameters]\n# and me\nstack_name = \"p\"\nparameter_overrides = \"Stage=prod A='' B='x y'\"\n";
        std::fs::write(&path, original).unwrap();
        let mut prod = StageParameters::read(&path, "prod").unwrap();
        assert_eq!(prod.get("A"), Some(""));
        assert_eq!(prod.get("B"), Some("x y"));
        prod.set("A", "");
        prod.set("C", "v");
        prod.write().unwrap();
        let written = std::fs::read_to_string(&path).unwrap();
        assert!(written.contains("parameter_overrides = \"Stage=prod A='' B='x y' C=v\""), "{written}");
        assert!(written.starts_with(
            "# keep me\n[dev.deploy.parameters]\nparameter_overrides = \"Stage=dev SigningKeyArn=SET-ME\"\n"
        ));
        assert!(written.contains("# and me\nstack_name = \"p\"\n"));
        let dev = StageParameters::read(&path, "dev").unwrap();
        assert_eq!(dev.get("SigningKeyArn"), None, "a placeholder is no value");
        assert!(StageParameters::read(&path, "staging").is_err());
        assert!(parse_overrides("A=\"open").is_err());
    }
}
