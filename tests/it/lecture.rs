//! The lecture's worked example, exactly: owners, path, hops, and the stored entry found.

use super::*;

#[test]
fn lecture_example_exactly() {
    let root = repo_root();
    let dir = tempfile::tempdir().unwrap();
    let scenario = root.join("scenarios/lecture.toml");
    let o = dhtsim(dir.path(), &["run", scenario.to_str().unwrap(), "--out", "out"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8(o.stdout).unwrap();
    assert!(
        stdout.contains("13 -> 25 -> 32 -> 40 -> 48 (4 hops, owner 48, value 1, ok)"),
        "{stdout}"
    );

    let rows = read_csv(&dir.path().join("out/lookups.csv"));
    let row = |key: &str| rows.iter().find(|r| r["key"] == key).expect("lookup of key");
    // Key 13 lives at peer 13, key 61 wraps past 63 to peer 1.
    assert_eq!((row("13")["owner"].as_str(), row("13")["true_owner"].as_str()), ("13", "13"));
    assert_eq!((row("61")["owner"].as_str(), row("61")["true_owner"].as_str()), ("1", "1"));
    // 13 looks up 45: 13 -> 25 -> 32 -> 40 -> 48, 4 hops; 48 answers with the holder, peer 1.
    let l45 = row("45");
    assert_eq!(l45["origin"], "13");
    assert_eq!(l45["path"], "13 25 32 40 48");
    assert_eq!(l45["hops"], "4");
    assert_eq!(l45["owner"], "48");
    assert_eq!(l45["value"], "1");
    assert_eq!(l45["outcome"], "ok");
    // Four forwards of 50 ms, then 48's answer straight back to 13: 5 x 50 ms.
    assert_eq!(l45["latency_ms"], "250");
    assert!(rows.iter().all(|r| r["outcome"] == "ok" && r["owner"] == r["true_owner"]));
}

#[test]
fn querier_owning_the_key_takes_zero_hops() {
    let text = "id_bits = 6\nduration_s = 1\n[population]\nids = [1, 12, 13, 25, 32, 40, 48, 60]\n\
                [[events]]\nat_ms = 0\nkind = \"lookup\"\nfrom = 13\nkey = 13\n";
    let (_d, out) = run_text(text, &[]);
    let rows = read_csv(&out.join("lookups.csv"));
    assert_eq!((rows[0]["hops"].as_str(), rows[0]["latency_ms"].as_str()), ("0", "0"));
    assert_eq!(rows[0]["owner"], "13");
}

#[test]
fn a_file_name_is_hashed_to_its_key() {
    // SHA-1("file-0") starts with 0xcc = 0b110011..., so with m = 6 its key is 0b110011 = 51,
    // owned by peer 60.
    let text = "id_bits = 6\nduration_s = 1\n[population]\nids = [1, 12, 13, 25, 32, 40, 48, 60]\n\
                [[events]]\nat_ms = 0\nkind = \"store\"\nfrom = 1\nfile = \"file-0\"\n\
                [[events]]\nat_ms = 500\nkind = \"lookup\"\nfrom = 12\nfile = \"file-0\"\n";
    let (_d, out) = run_text(text, &[]);
    let rows = read_csv(&out.join("lookups.csv"));
    assert_eq!(rows[0]["key"], "51");
    assert_eq!(rows[0]["owner"], "60");
    assert_eq!(rows[0]["value"], "1");
}
