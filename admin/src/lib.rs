//! What the operator's programs do, as a library: `partners` (src/main.rs) and `keys`
//! (src/bin/keys.rs), and the end-to-end suite that runs the rotations against moto.

pub mod rotation;
pub mod samconfig;

/// A command's output on standard output and success, or its error on standard error and failure:
/// what both programs' `main` do with what they ran.
pub fn exit_with(result: Result<String, String>) -> std::process::ExitCode {
    match result {
        Ok(output) => {
            print!("{output}");
            std::process::ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
