//! The `toyvm` command: runs a Toy program on the vmkit substrate.

use clap::Parser;

/// Runs a Toy program (see the Toy language reference).
#[derive(Parser, Debug)]
#[command(name = "toyvm", version, about)]
struct Cli {
    /// The program to run.
    file: std::path::PathBuf,
    /// Arguments passed to the program (`args()`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

fn main() {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            std::process::exit(if e.use_stderr() { 2 } else { 0 });
        }
    };
    eprintln!(
        "toyvm: cannot run {}: no execution engine yet (see CHANGELOG.md)",
        cli.file.display()
    );
    std::process::exit(2);
}
