//! Prints the default pack's errors and warnings (a development aid).
fn main() {
    match sightline_rules::default_pack() {
        Ok(pack) => {
            println!("{} {}: {} rules", pack.name, pack.version, pack.rules.len());
            for warning in &pack.warnings {
                println!("{}", warning.with_file("default.rules"));
            }
            for rule in &pack.rules {
                println!("{} {}", rule.id, rule.severity);
            }
        }
        Err(errors) => {
            for error in errors {
                println!("{}", error.with_file("default.rules"));
            }
        }
    }
}
