//! The ToyVM parity example: `examples/mandelbrot.toy` writes an 8-bit Sun raster
//! file. Checks the header, the size, and that the JIT (with objects moving at every
//! collection) and the interpreter produce the same pixels.

use std::path::PathBuf;
use std::process::Command;

fn render(engine_flags: &[&str], out: &PathBuf, w: u32, h: u32) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_toyvm"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .args(engine_flags)
        .args([
            "--heap",
            "32M",
            "examples/mandelbrot.toy",
            &w.to_string(),
            &h.to_string(),
        ])
        .arg(out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

fn be32(b: &[u8], i: usize) -> u32 {
    u32::from_be_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]])
}

#[test]
fn mandelbrot_raster() {
    let dir = std::env::temp_dir().join(format!("toyvm-mandelbrot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (w, h) = (97u32, 64u32); // odd width: scanlines are padded
    let jit = dir.join("jit.ras");
    let interp = dir.join("interp.ras");
    let out_jit = render(&["--gc-move"], &jit, w, h);
    let out_interp = render(&["--interp", "--plan", "SemiSpace"], &interp, w, h);
    let a = std::fs::read(&jit).unwrap();
    let b = std::fs::read(&interp).unwrap();
    let row = (w + w % 2) as usize;
    assert_eq!(be32(&a, 0), 0x59a6_6a95, "magic");
    assert_eq!((be32(&a, 1), be32(&a, 2), be32(&a, 3)), (w, h, 8));
    assert_eq!(be32(&a, 4) as usize, row * h as usize);
    assert_eq!((be32(&a, 5), be32(&a, 6), be32(&a, 7)), (1, 1, 768));
    assert_eq!(a.len(), 32 + 768 + row * h as usize);
    let pixels = &a[32 + 768..];
    let checksum = |p: &[u8]| {
        p.iter()
            .fold(0u64, |s, &x| (s * 31 + x as u64) % 1_000_000_007)
    };
    assert_eq!(
        checksum(pixels),
        checksum(&b[32 + 768..]),
        "JIT and interpreter pixels differ"
    );
    assert_eq!(a, b);
    // Points inside the set reach the 255-iteration limit; points far outside escape at once.
    assert!(pixels.contains(&255) && pixels.contains(&1));
    assert_eq!(
        out_jit.replace("jit.ras", "X"),
        out_interp.replace("interp.ras", "X")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
