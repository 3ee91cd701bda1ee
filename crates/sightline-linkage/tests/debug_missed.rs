use sightline_linkage::eval::{parse_febrl_csv, pairs_within_groups};
use sightline_linkage::*;
#[test]
fn missed() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/febrl/dataset3.csv")).unwrap();
    let labelled = parse_febrl_csv(&text, 0).unwrap();
    let settings = Settings::febrl(false).unwrap();
    let mentions: Vec<MentionInput> = labelled.iter().map(|l| l.mention.clone()).collect();
    let truth: Vec<u32> = labelled.iter().map(|l| l.truth).collect();
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(1);
    let (model, _) = eval::train_on(&settings, &mentions, LinkScope::Dedupe, &mut rng);
    for c in &model.comparisons { println!("{} m={:.3?} u={:.5?}", c.name, c.m, c.u); }
    println!("prior {}", model.prior_log2_odds);
    let index = LinkageIndex::batch(settings, model, LinkScope::Dedupe, &mentions, &[]).unwrap();
    let actual = pairs_within_groups(&truth, index.store(), LinkScope::Dedupe);
    let mut n = 0;
    for (l, r) in &actual {
        if index.candidates_of(*r).binary_search(l).is_err() {
            n += 1;
            if n < 25 {
            let show = |i: u32| format!("{:?}", mentions[i as usize].values.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>());
            println!("MISS\n  {}\n  {}", show(*l), show(*r));
            }
        }
    }
    let linked: std::collections::HashSet<(u32,u32)> = index.links().iter().filter(|l| l.kind != LinkKind::Review).map(|l| (l.left, l.right)).collect();
    let mut k = 0;
    for (l, r) in &actual {
        if index.candidates_of(*r).binary_search(l).is_ok() && !linked.contains(&(*l, *r)) {
            k += 1;
            if k < 10 {
                let e = index.explain(*l, *r).unwrap();
                println!("NOTLINKED p={:.3} {:?}", e.match_probability, e.fields.iter().map(|f| (f.field.as_str(), f.level.as_str(), (f.weight*10.0).round()/10.0)).collect::<Vec<_>>());
            }
        }
    }
    println!("missed {n} notlinked {k}");
}
