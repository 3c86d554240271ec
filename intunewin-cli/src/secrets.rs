//! Secrets that must not sit on the command line, where every user of the machine can read
//! them (`ps`, `/proc/*/cmdline`) and the shell keeps them in its history.
//!
//! `--key`, `--mac-key` and `--cert-password` take the secret itself, or `@FILE` (the file's
//! first line; `@-` reads standard input), or `env:NAME` (an environment variable). A
//! certificate that needs a password none was given for asks for it at a terminal, without
//! echo.

use std::io::{BufRead, IsTerminal};
use std::path::Path;

use anyhow::{Context, bail};
use zeroize::Zeroizing;

/// The secret an option's value stands for.
pub fn resolve(value: &str, option: &str) -> anyhow::Result<Zeroizing<String>> {
    if let Some(path) = value.strip_prefix('@') {
        return first_line(path, option);
    }
    if let Some(name) = value.strip_prefix("env:") {
        return match std::env::var(name) {
            Ok(secret) => Ok(Zeroizing::new(secret)),
            Err(_) => bail!("{option} env:{name}: the environment variable {name} is not set"),
        };
    }
    Ok(Zeroizing::new(value.to_owned()))
}

/// The first line of `path` (`-`: standard input), without its line ending.
fn first_line(path: &str, option: &str) -> anyhow::Result<Zeroizing<String>> {
    let mut line = Zeroizing::new(String::new());
    if path == "-" {
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .with_context(|| format!("{option} @-: cannot read standard input"))?;
    } else {
        let file = std::fs::File::open(Path::new(path))
            .with_context(|| format!("{option} @{path}: cannot open the file"))?;
        std::io::BufReader::new(file)
            .read_line(&mut line)
            .with_context(|| format!("{option} @{path}: cannot read the file"))?;
    }
    let end = line.trim_end_matches(['\r', '\n']).len();
    line.truncate(end);
    Ok(line)
}

/// Asks for a password at the terminal without echoing it; `None` when standard input is not
/// a terminal (nobody to ask).
pub fn prompt(question: &str) -> anyhow::Result<Option<Zeroizing<String>>> {
    if !std::io::stdin().is_terminal() {
        return Ok(None);
    }
    let answer = rpassword::prompt_password(question).context("cannot read the password")?;
    Ok(Some(Zeroizing::new(answer)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_value_is_the_secret() {
        assert_eq!(resolve("s3cret", "--x").unwrap().as_str(), "s3cret");
    }

    #[test]
    fn a_file_gives_its_first_line_without_the_line_ending() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        std::fs::write(&path, "pa ss\r\nsecond line\n").unwrap();
        let value = format!("@{}", path.display());
        assert_eq!(resolve(&value, "--x").unwrap().as_str(), "pa ss");
    }

    #[test]
    fn a_missing_file_or_variable_is_an_error_naming_the_option() {
        let err = resolve("@/nonexistent/pw", "--cert-password").unwrap_err();
        assert!(format!("{err:#}").starts_with("--cert-password @/nonexistent/pw"));
        let err = resolve("env:INTUNEWIN_TEST_SURELY_UNSET", "--key").unwrap_err();
        assert!(err.to_string().contains("is not set"), "{err}");
    }
}
