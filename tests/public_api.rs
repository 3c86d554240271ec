//! The core's public surface is checked in: `intunewin-core/public-api.txt` lists every item a
//! user of the crate can name (all features on), one per line with its signature, so a change of
//! surface shows in review. The listing is built from rustdoc's JSON output (stable toolchain,
//! `RUSTC_BOOTSTRAP=1`, in its own target folder under `CARGO_TARGET_TMPDIR`), walked from the
//! crate root along public paths, re-exports followed; `#[doc(hidden)]` items are not part of it.
//!
//! `PUBLIC_API_UPDATE=1 cargo test -p intunewin-cli --test integration public_api::` rewrites
//! the listing instead of failing; review the diff before committing it. Its first line counts
//! items (modules, types, traits, functions, constants), members (methods, fields, variants)
//! and trait impls: `head -1 intunewin-core/public-api.txt`.

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::util::workspace_root;

/// The checked-in listing, relative to the workspace root.
const LISTING: &str = "intunewin-core/public-api.txt";

#[test]
fn public_api_matches_the_checked_in_listing() {
    let json = rustdoc_json();
    let actual = listing(&json);
    let path = workspace_root().join(LISTING);
    let expected = fs::read_to_string(&path).unwrap_or_default();
    if expected == actual {
        return;
    }
    if std::env::var_os("PUBLIC_API_UPDATE").is_some_and(|v| v == "1") {
        let temporary = path.with_extension("txt.update");
        fs::write(&temporary, &actual).expect("write the listing");
        fs::rename(&temporary, &path).expect("replace the listing");
        eprintln!("PUBLIC_API_UPDATE=1: rewrote {LISTING}");
        return;
    }
    panic!(
        "the public API of intunewin-core changed:\n{}\n\n(PUBLIC_API_UPDATE=1 cargo test -p \
         intunewin-cli --test integration public_api:: rewrites {LISTING}; review the diff)",
        line_diff(&expected, &actual)
    );
}

/// Lines only in `expected` (`-`) and only in `actual` (`+`).
fn line_diff(expected: &str, actual: &str) -> String {
    let old: BTreeSet<&str> = expected.lines().collect();
    let new: BTreeSet<&str> = actual.lines().collect();
    let removed = old.difference(&new).map(|l| format!("- {l}"));
    let added = new.difference(&old).map(|l| format!("+ {l}"));
    removed.chain(added).collect::<Vec<_>>().join("\n")
}

/// Runs rustdoc's JSON output for the core (all features) and parses it.
fn rustdoc_json() -> Value {
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("public-api-target");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(workspace_root())
        .args([
            "rustdoc",
            "--quiet",
            "-p",
            "intunewin-core",
            "--all-features",
        ])
        .args(["--", "-Z", "unstable-options", "--output-format", "json"])
        .env("RUSTC_BOOTSTRAP", "1")
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTDOCFLAGS")
        .output()
        .expect("run cargo rustdoc");
    assert!(
        output.status.success(),
        "cargo rustdoc --output-format json failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let file = target.join("doc/intunewin_core.json");
    let text = fs::read_to_string(&file).expect("read rustdoc's JSON");
    serde_json::from_str(&text).expect("parse rustdoc's JSON")
}

/// The listing: a count line, then every public path with its signature, sorted.
fn listing(json: &Value) -> String {
    let mut walk = Walk {
        index: &json["index"],
        lines: BTreeSet::new(),
        stack: Vec::new(),
    };
    let root = id_of(&json["root"]);
    walk.item(&root, "intunewin_core");
    let count = |p: &dyn Fn(&str) -> bool| walk.lines.iter().filter(|l| p(l)).count();
    let members = count(&|l: &str| {
        ["pub method ", "pub field ", "pub variant ", "pub assoc "]
            .iter()
            .any(|k| l.starts_with(k))
    });
    let impls = count(&|l: &str| l.starts_with("impl "));
    let items = walk.lines.len() - members - impls;
    let mut text = format!(
        "# intunewin-core public API: {items} items, {members} members, {impls} trait impls \
         (tests/public_api.rs)\n"
    );
    for line in &walk.lines {
        text.push_str(line);
        text.push('\n');
    }
    text
}

/// An item id in the JSON (a number, used as a string key of `index`).
fn id_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The walk from the crate root.
struct Walk<'a> {
    index: &'a Value,
    lines: BTreeSet<String>,
    /// Modules being walked (re-exports can form cycles).
    stack: Vec<String>,
}

impl Walk<'_> {
    /// Lists the item `id` under `path`.
    fn item(&mut self, id: &str, path: &str) {
        let item = &self.index[id];
        let Some((kind, inner)) = item["inner"].as_object().and_then(|o| o.iter().next()) else {
            return;
        };
        match kind.as_str() {
            "module" => self.module(id, inner, path),
            "use" => self.reexport(inner, path),
            "struct" => self.strukt(inner, path),
            "enum" => self.enumeration(inner, path),
            "function" => {
                let line = format!("pub fn {path}{}", function(inner));
                self.lines.insert(line);
            }
            "trait" => self.trait_item(inner, path),
            "constant" => {
                let line = format!("pub const {path}: {}", ty(&inner["type"]));
                self.lines.insert(line);
            }
            "static" => {
                let line = format!("pub static {path}: {}", ty(&inner["type"]));
                self.lines.insert(line);
            }
            "type_alias" => {
                let line = format!(
                    "pub type {path}{} = {}",
                    generics(&inner["generics"]),
                    ty(&inner["type"])
                );
                self.lines.insert(line);
            }
            "macro" | "proc_macro" => {
                self.lines.insert(format!("pub macro {path}"));
            }
            _ => {}
        }
    }

    fn module(&mut self, id: &str, inner: &Value, path: &str) {
        if self.stack.iter().any(|m| m == id) {
            return;
        }
        self.lines.insert(format!("pub mod {path}"));
        self.stack.push(id.to_string());
        self.module_items(inner, path);
        self.stack.pop();
    }

    fn module_items(&mut self, inner: &Value, path: &str) {
        for child in inner["items"].as_array().into_iter().flatten() {
            let child = id_of(child);
            let entry = &self.index[&child];
            if entry["inner"].get("use").is_some() {
                self.item(&child, path);
            } else if let Some(name) = entry["name"].as_str() {
                self.item(&child, &format!("{path}::{name}"));
            }
        }
    }

    /// A `pub use`: the target under its new name, or its module's items for a glob.
    fn reexport(&mut self, inner: &Value, path: &str) {
        let name = inner["name"].as_str().unwrap_or("_");
        let target = id_of(&inner["id"]);
        let resolved = !inner["id"].is_null() && !self.index[&target].is_null();
        match (resolved, inner["is_glob"].as_bool() == Some(true)) {
            (true, true) => {
                let target_inner = &self.index[&target]["inner"];
                if let Some(module) = target_inner.get("module") {
                    let module = module.clone();
                    self.module_items(&module, path);
                }
            }
            (true, false) => self.item(&target, &format!("{path}::{name}")),
            (false, _) => {
                let source = inner["source"].as_str().unwrap_or("_");
                self.lines
                    .insert(format!("pub use {path}::{name} = {source}"));
            }
        }
    }

    fn strukt(&mut self, inner: &Value, path: &str) {
        let kind = &inner["kind"];
        let mut head = format!("pub struct {path}{}", generics(&inner["generics"]));
        if let Some(fields) = kind.get("tuple").and_then(Value::as_array) {
            let shown: Vec<String> = fields
                .iter()
                .map(|f| match f.is_null() {
                    true => "_".to_string(),
                    false => ty(&self.index[id_of(f)]["inner"]["struct_field"]),
                })
                .collect();
            head.push_str(&format!("({})", shown.join(", ")));
        }
        self.lines.insert(head);
        if let Some(plain) = kind.get("plain") {
            self.fields(&plain["fields"], path);
        }
        self.impls(&inner["impls"], path);
    }

    fn fields(&mut self, fields: &Value, path: &str) {
        for field in fields.as_array().into_iter().flatten() {
            let field = &self.index[id_of(field)];
            if field["visibility"] != "public" && !self.in_variant(field) {
                continue;
            }
            let name = field["name"].as_str().unwrap_or("_");
            let line = format!(
                "pub field {path}::{name}: {}",
                ty(&field["inner"]["struct_field"])
            );
            self.lines.insert(line);
        }
    }

    /// Variant fields have the default visibility and are public with their enum.
    fn in_variant(&self, field: &Value) -> bool {
        field["visibility"] == "default"
    }

    fn enumeration(&mut self, inner: &Value, path: &str) {
        let line = format!("pub enum {path}{}", generics(&inner["generics"]));
        self.lines.insert(line);
        for variant in inner["variants"].as_array().into_iter().flatten() {
            let variant = &self.index[id_of(variant)];
            let name = variant["name"].as_str().unwrap_or("_");
            let vpath = format!("{path}::{name}");
            let kind = &variant["inner"]["variant"]["kind"];
            let mut line = format!("pub variant {vpath}");
            if let Some(fields) = kind.get("tuple").and_then(Value::as_array) {
                let shown: Vec<String> = fields
                    .iter()
                    .map(|f| ty(&self.index[id_of(f)]["inner"]["struct_field"]))
                    .collect();
                line.push_str(&format!("({})", shown.join(", ")));
            }
            self.lines.insert(line);
            if let Some(fields) = kind.get("struct") {
                let fields = fields["fields"].clone();
                self.fields(&fields, &vpath);
            }
        }
        self.impls(&inner["impls"], path);
    }

    /// Inherent methods and constants, and the trait impls written in the crate (not the
    /// compiler's auto traits nor blanket impls).
    fn impls(&mut self, impls: &Value, path: &str) {
        for id in impls.as_array().into_iter().flatten() {
            let imp = &self.index[id_of(id)]["inner"]["impl"];
            if imp.is_null() || imp["is_synthetic"] == true || !imp["blanket_impl"].is_null() {
                continue;
            }
            if let Some(name) = imp["trait"]["path"].as_str() {
                if name == "StructuralPartialEq" {
                    continue; // the compiler's marker behind derive(PartialEq)
                }
                let line = format!(
                    "impl {}{} for {path}",
                    last(name),
                    args(&imp["trait"]["args"])
                );
                self.lines.insert(line);
                continue;
            }
            for member in imp["items"].as_array().into_iter().flatten() {
                self.member(&id_of(member), path);
            }
        }
    }

    /// A public method or associated constant of an inherent impl.
    fn member(&mut self, id: &str, path: &str) {
        let item = &self.index[id];
        if item["visibility"] != "public" {
            return;
        }
        let name = item["name"].as_str().unwrap_or("_");
        let inner = &item["inner"];
        let line = if let Some(f) = inner.get("function") {
            format!("pub method {path}::{name}{}", function(f))
        } else if let Some(c) = inner.get("assoc_const") {
            format!("pub assoc {path}::{name}: {}", ty(&c["type"]))
        } else {
            format!("pub assoc {path}::{name}")
        };
        self.lines.insert(line);
    }

    fn trait_item(&mut self, inner: &Value, path: &str) {
        self.lines.insert(format!("pub trait {path}"));
        for member in inner["items"].as_array().into_iter().flatten() {
            let item = &self.index[id_of(member)];
            let name = item["name"].as_str().unwrap_or("_");
            let line = match item["inner"].get("function") {
                Some(f) => format!("pub method {path}::{name}{}", function(f)),
                None => format!("pub assoc {path}::{name}"),
            };
            self.lines.insert(line);
        }
    }
}

/// `<generics>(inputs) -> output` of a function.
fn function(f: &Value) -> String {
    let inputs: Vec<String> = f["sig"]["inputs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|input| {
            let name = input[0].as_str().unwrap_or("_");
            let t = ty(&input[1]);
            match name {
                "self" => self_param(&t),
                _ => format!("{name}: {t}"),
            }
        })
        .collect();
    let output = match &f["sig"]["output"] {
        Value::Null => String::new(),
        out => format!(" -> {}", ty(out)),
    };
    format!(
        "{}({}){output}{}",
        generics(&f["generics"]),
        inputs.join(", "),
        where_clause(&f["generics"])
    )
}

/// `self`, `&self`, `&mut self`.
fn self_param(t: &str) -> String {
    match t {
        "Self" => "self".into(),
        "&Self" => "&self".into(),
        "&mut Self" => "&mut self".into(),
        other => format!("self: {other}"),
    }
}

/// The last segment of a written path (`io::Result` → `Result`).
fn last(path: &str) -> &str {
    path.rsplit("::").next().unwrap_or(path)
}

/// A type as Rust spells it, paths shortened to their last segment.
fn ty(t: &Value) -> String {
    let Some((kind, v)) = t.as_object().and_then(|o| o.iter().next()) else {
        return match t.as_str() {
            Some("infer") => "_".into(),
            _ => "?".into(),
        };
    };
    match kind.as_str() {
        "resolved_path" => format!(
            "{}{}",
            last(v["path"].as_str().unwrap_or("?")),
            args(&v["args"])
        ),
        "generic" | "primitive" => v.as_str().unwrap_or("?").into(),
        "borrowed_ref" => {
            let lifetime = v["lifetime"]
                .as_str()
                .map(|l| format!("{l} "))
                .unwrap_or_default();
            let m = if v["is_mutable"] == true { "mut " } else { "" };
            format!("&{lifetime}{m}{}", ty(&v["type"]))
        }
        "raw_pointer" => {
            let m = if v["is_mutable"] == true {
                "mut"
            } else {
                "const"
            };
            format!("*{m} {}", ty(&v["type"]))
        }
        "tuple" => {
            let parts: Vec<String> = v.as_array().into_iter().flatten().map(ty).collect();
            format!("({})", parts.join(", "))
        }
        "slice" => format!("[{}]", ty(v)),
        "array" => format!("[{}; {}]", ty(&v["type"]), v["len"].as_str().unwrap_or("?")),
        "impl_trait" => format!("impl {}", bounds(v)),
        "dyn_trait" => {
            let traits: Vec<String> = v["traits"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| trait_path(&p["trait"]))
                .chain(v["lifetime"].as_str().map(str::to_string))
                .collect();
            format!("dyn {}", traits.join(" + "))
        }
        "qualified_path" => format!(
            "<{} as {}>::{}",
            ty(&v["self_type"]),
            trait_path(&v["trait"]),
            v["name"].as_str().unwrap_or("?")
        ),
        "function_pointer" => format!("fn{}", function(&serde_json::json!({"sig": v["sig"]}))),
        _ => "?".into(),
    }
}

fn trait_path(p: &Value) -> String {
    format!(
        "{}{}",
        last(p["path"].as_str().unwrap_or("?")),
        args(&p["args"])
    )
}

/// `<A, B, Item = C>` or `(A) -> B` generic arguments.
fn args(a: &Value) -> String {
    if let Some(angle) = a.get("angle_bracketed") {
        let mut parts: Vec<String> = angle["args"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|arg| match arg.as_object().and_then(|o| o.iter().next()) {
                Some((k, v)) if k == "type" => ty(v),
                Some((k, v)) if k == "lifetime" => v.as_str().unwrap_or("?").into(),
                Some((_, v)) => v["expr"].as_str().unwrap_or("?").into(),
                None => "_".into(),
            })
            .collect();
        for c in angle["constraints"].as_array().into_iter().flatten() {
            let name = c["name"].as_str().unwrap_or("?");
            match c["binding"].get("equality") {
                Some(eq) => parts.push(format!("{name} = {}", ty(&eq["type"]))),
                None => parts.push(format!("{name}: {}", bounds(&c["binding"]["constraint"]))),
            }
        }
        return match parts.is_empty() {
            true => String::new(),
            false => format!("<{}>", parts.join(", ")),
        };
    }
    if let Some(paren) = a.get("parenthesized") {
        let inputs: Vec<String> = paren["inputs"]
            .as_array()
            .into_iter()
            .flatten()
            .map(ty)
            .collect();
        let output = match &paren["output"] {
            Value::Null => String::new(),
            out => format!(" -> {}", ty(out)),
        };
        return format!("({}){output}", inputs.join(", "));
    }
    String::new()
}

/// `A + B + 'a`.
fn bounds(b: &Value) -> String {
    let parts: Vec<String> = b
        .as_array()
        .into_iter()
        .flatten()
        .map(
            |bound| match (bound.get("trait_bound"), bound.get("outlives")) {
                (Some(t), _) => {
                    let maybe = if t["modifier"] == "maybe" { "?" } else { "" };
                    format!("{maybe}{}", trait_path(&t["trait"]))
                }
                (None, Some(l)) => l.as_str().unwrap_or("?").into(),
                _ => "?".into(),
            },
        )
        .collect();
    parts.join(" + ")
}

/// `<'a, T: Bound, const N: usize>`, synthetic (`impl Trait` argument) parameters left out.
fn generics(g: &Value) -> String {
    let parts: Vec<String> = g["params"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let name = p["name"].as_str().unwrap_or("?");
            let kind = &p["kind"];
            if let Some(t) = kind.get("type") {
                if t["is_synthetic"] == true {
                    return None;
                }
                let b = bounds(&t["bounds"]);
                let mut shown = match b.is_empty() {
                    true => name.to_string(),
                    false => format!("{name}: {b}"),
                };
                if !t["default"].is_null() {
                    shown.push_str(&format!(" = {}", ty(&t["default"])));
                }
                return Some(shown);
            }
            if let Some(c) = kind.get("const") {
                return Some(format!("const {name}: {}", ty(&c["type"])));
            }
            Some(name.to_string())
        })
        .collect();
    match parts.is_empty() {
        true => String::new(),
        false => format!("<{}>", parts.join(", ")),
    }
}

/// ` where T: Bound, ...`.
fn where_clause(g: &Value) -> String {
    let parts: Vec<String> = g["where_predicates"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let bp = p.get("bound_predicate")?;
            Some(format!("{}: {}", ty(&bp["type"]), bounds(&bp["bounds"])))
        })
        .collect();
    match parts.is_empty() {
        true => String::new(),
        false => format!(" where {}", parts.join(", ")),
    }
}

#[test]
fn types_are_spelled_as_in_rust() {
    let t = serde_json::json!({"borrowed_ref": {"lifetime": null, "is_mutable": false,
        "type": {"resolved_path": {"path": "std::path::Path", "id": 1, "args": null}}}});
    assert_eq!(ty(&t), "&Path");
    let t = serde_json::json!({"resolved_path": {"path": "io::Result", "id": 2, "args":
        {"angle_bracketed": {"args": [{"type": {"tuple": [{"primitive": "u64"},
        {"slice": {"primitive": "u8"}}]}}], "constraints": []}}}});
    assert_eq!(ty(&t), "Result<(u64, [u8])>");
    assert_eq!(line_diff("a\nb\n", "b\nc\n"), "- a\n+ c");
}
