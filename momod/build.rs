// The migrations are embedded at compile time: a changed or new one must rebuild momod.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
