//! Which agencies' records establish a relationship with a child: the identity
//! check after NHS Spine's legitimate relationships. Anyone doing casework sees a
//! child's minimal view (name, date of birth, sex, the last three digits of the
//! NHS number, which agencies to contact), so a record that repeats only that
//! proves nothing: one made-up record naming a child must not put the child in
//! an agency's work. A record establishes its agency's relationship only when it
//! shows knowledge the minimal view does not give:
//!
//! - [`RecordBasis::FirstRecord`]: it is the child's earliest record (in log
//!   order). Its agency knew the child before anyone else recorded them, so it
//!   cannot have copied the identity from a minimal view;
//! - [`RecordBasis::SocialCareEpisode`]: it is a referral, assessment, plan or
//!   other episode record of children's social care, sent by an agency the
//!   organisation knows as children's social care (the caller decides which
//!   mentions these are). The local authority's duty to make enquiries is the
//!   relationship; a police or school token cannot send as social care;
//! - [`RecordBasis::NhsNumber`]: it carries the child's whole NHS number, as a
//!   record of an agency already established gives it;
//! - [`RecordBasis::Address`]: it carries the child's address (every line and the
//!   postcode), as a record of an agency already established gives it.
//!
//! Trust grows from the first record outwards ([`corroborated`] is a fixpoint):
//! an identifier counts only when it matches one given by an agency already
//! established, so two agencies cannot vouch for each other with invented
//! values. Pure: the caller reads the mentions out of the linked picture.

use std::collections::{BTreeMap, BTreeSet};

/// Why an agency's record establishes its relationship with a child.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordBasis {
    /// The child's earliest record.
    FirstRecord,
    /// An episode record (referral, assessment, plan...) of children's social
    /// care.
    SocialCareEpisode,
    /// The child's whole NHS number, as an established agency recorded it.
    NhsNumber,
    /// The child's address, as an established agency recorded it.
    Address,
}

impl RecordBasis {
    /// Every basis, strongest first.
    pub const ALL: [RecordBasis; 4] = [
        RecordBasis::FirstRecord,
        RecordBasis::SocialCareEpisode,
        RecordBasis::NhsNumber,
        RecordBasis::Address,
    ];

    /// The stable name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordBasis::FirstRecord => "first_record",
            RecordBasis::SocialCareEpisode => "social_care_episode",
            RecordBasis::NhsNumber => "nhs_number",
            RecordBasis::Address => "address",
        }
    }

    /// Parses a stable name.
    pub fn parse(text: &str) -> Option<RecordBasis> {
        RecordBasis::ALL
            .into_iter()
            .find(|basis| basis.as_str() == text)
    }
}

/// One current mention of the child, as far as the identity check needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MentionIdentity {
    /// The agency that sent the record.
    pub agency: String,
    /// The record's position in the log.
    pub seq: i64,
    /// `agency/record_id/ref`.
    pub mention_key: String,
    /// The whole NHS number, normalised (digits only), if the record gives one.
    pub nhs_number: Option<String>,
    /// The normalised address (every line and the postcode), if the record gives
    /// one with a postcode and a line.
    pub address: Option<String>,
    /// Whether the record is an episode record of children's social care sent
    /// by a children's social care agency.
    pub opens_episode: bool,
}

/// An agency whose record establishes its relationship with the child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corroboration {
    /// The agency.
    pub agency: String,
    /// Why.
    pub basis: RecordBasis,
    /// The mention that shows it.
    pub mention_key: String,
}

/// The agencies whose records establish a relationship with the child whose
/// current mentions are `mentions`, in the order they are established (the first
/// record's agency first). Deterministic: ties are broken by `seq`, then by
/// mention key.
pub fn corroborated(mentions: &[MentionIdentity]) -> Vec<Corroboration> {
    let mut ordered: Vec<&MentionIdentity> = mentions.iter().collect();
    ordered.sort_by(|a, b| (a.seq, &a.mention_key).cmp(&(b.seq, &b.mention_key)));
    let Some(first) = ordered.first() else {
        return Vec::new();
    };
    let mut established: Vec<Corroboration> = vec![Corroboration {
        agency: first.agency.clone(),
        basis: RecordBasis::FirstRecord,
        mention_key: first.mention_key.clone(),
    }];
    let mut trusted_agencies: BTreeSet<&str> = BTreeSet::from([first.agency.as_str()]);
    let mut trusted_nhs: BTreeSet<&str> = BTreeSet::new();
    let mut trusted_addresses: BTreeSet<&str> = BTreeSet::new();
    let mut by_agency: BTreeMap<&str, Vec<&MentionIdentity>> = BTreeMap::new();
    for mention in &ordered {
        by_agency
            .entry(mention.agency.as_str())
            .or_default()
            .push(mention);
    }
    // Children's social care with an episode about the child, in log order.
    for mention in &ordered {
        if mention.opens_episode && trusted_agencies.insert(mention.agency.as_str()) {
            established.push(Corroboration {
                agency: mention.agency.clone(),
                basis: RecordBasis::SocialCareEpisode,
                mention_key: mention.mention_key.clone(),
            });
        }
    }
    for agency in &trusted_agencies {
        for mention in by_agency.get(agency).into_iter().flatten() {
            trusted_nhs.extend(mention.nhs_number.as_deref());
            trusted_addresses.extend(mention.address.as_deref());
        }
    }
    loop {
        let mut found: Option<(&str, RecordBasis, &MentionIdentity)> = None;
        // The earliest corroborating mention of any agency not yet established.
        for mention in &ordered {
            if trusted_agencies.contains(mention.agency.as_str()) {
                continue;
            }
            let basis = if mention
                .nhs_number
                .as_deref()
                .is_some_and(|nhs| trusted_nhs.contains(nhs))
            {
                RecordBasis::NhsNumber
            } else if mention
                .address
                .as_deref()
                .is_some_and(|address| trusted_addresses.contains(address))
            {
                RecordBasis::Address
            } else {
                continue;
            };
            found = Some((mention.agency.as_str(), basis, mention));
            break;
        }
        let Some((agency, basis, mention)) = found else {
            break;
        };
        trusted_agencies.insert(agency);
        for own in by_agency.get(agency).into_iter().flatten() {
            trusted_nhs.extend(own.nhs_number.as_deref());
            trusted_addresses.extend(own.address.as_deref());
        }
        established.push(Corroboration {
            agency: agency.to_owned(),
            basis,
            mention_key: mention.mention_key.clone(),
        });
    }
    established
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn mention(
        agency: &str,
        seq: i64,
        nhs_number: Option<&str>,
        address: Option<&str>,
    ) -> MentionIdentity {
        MentionIdentity {
            agency: agency.to_owned(),
            seq,
            mention_key: format!("{agency}/R-{seq}/c"),
            nhs_number: nhs_number.map(str::to_owned),
            address: address.map(str::to_owned),
            opens_episode: false,
        }
    }

    fn established(mentions: &[MentionIdentity]) -> Vec<(String, RecordBasis)> {
        corroborated(mentions)
            .into_iter()
            .map(|found| (found.agency, found.basis))
            .collect()
    }

    #[test]
    fn the_first_record_establishes_and_a_name_alone_does_not() {
        let mentions = [
            mention("gp", 1, Some("9434765919"), Some("12 example road|N176AA")),
            // A record giving only what the minimal view shows (name, date of
            // birth, sex): no identifier at all.
            mention("police", 2, None, None),
        ];
        assert_eq!(
            established(&mentions),
            vec![("gp".to_owned(), RecordBasis::FirstRecord)]
        );
        assert!(corroborated(&[]).is_empty());
    }

    #[test]
    fn identifiers_of_established_agencies_corroborate() {
        let mentions = [
            mention("gp", 1, Some("9434765919"), Some("12 example road|N176AA")),
            mention("school", 5, None, Some("12 example road|N176AA")),
            mention("hospital", 7, Some("9434765919"), None),
            mention("police", 9, None, Some("3 other street|N176AB")),
            // A wrong NHS number proves nothing.
            mention("housing", 11, Some("9990000018"), None),
        ];
        assert_eq!(
            established(&mentions),
            vec![
                ("gp".to_owned(), RecordBasis::FirstRecord),
                ("school".to_owned(), RecordBasis::Address),
                ("hospital".to_owned(), RecordBasis::NhsNumber),
            ]
        );
    }

    #[test]
    fn trust_spreads_from_the_first_record_not_between_strangers() {
        // Two agencies agreeing with each other on values no established agency
        // gave do not establish each other.
        let strangers = [
            mention("gp", 1, None, None),
            mention("rogue-a", 2, Some("9990000026"), Some("1 made up|N11AA")),
            mention("rogue-b", 3, Some("9990000026"), Some("1 made up|N11AA")),
        ];
        assert_eq!(
            established(&strangers),
            vec![("gp".to_owned(), RecordBasis::FirstRecord)]
        );
        // A chain from the first record does: gp gives the address school
        // repeats; school's NHS number is the one hospital gives.
        let chain = [
            mention("gp", 1, None, Some("12 example road|N176AA")),
            mention("hospital", 2, Some("9434765919"), None),
            mention(
                "school",
                3,
                Some("9434765919"),
                Some("12 example road|N176AA"),
            ),
        ];
        assert_eq!(
            established(&chain),
            vec![
                ("gp".to_owned(), RecordBasis::FirstRecord),
                ("school".to_owned(), RecordBasis::Address),
                ("hospital".to_owned(), RecordBasis::NhsNumber),
            ]
        );
    }

    #[test]
    fn an_episode_of_childrens_social_care_establishes_and_vouches() {
        let mut referral = mention("riverside-la", 3, None, Some("12 example road|N176AA"));
        referral.opens_episode = true;
        let mentions = [
            mention("police", 1, None, None),
            referral,
            mention("school", 5, None, Some("12 example road|N176AA")),
        ];
        assert_eq!(
            established(&mentions),
            vec![
                ("police".to_owned(), RecordBasis::FirstRecord),
                ("riverside-la".to_owned(), RecordBasis::SocialCareEpisode),
                ("school".to_owned(), RecordBasis::Address),
            ]
        );
    }

    #[test]
    fn names_round_trip() {
        for basis in RecordBasis::ALL {
            assert_eq!(RecordBasis::parse(basis.as_str()), Some(basis));
        }
        assert_eq!(RecordBasis::parse("agency_contributed"), None);
    }

    fn arbitrary_mention() -> impl Strategy<Value = MentionIdentity> {
        (
            prop::sample::select(vec!["gp", "school", "police", "la", "rogue"]),
            0i64..50,
            prop::option::of(prop::sample::select(vec!["n1", "n2", "n3"])),
            prop::option::of(prop::sample::select(vec!["a1", "a2", "a3"])),
            prop::bool::weighted(0.1),
        )
            .prop_map(
                |(agency, seq, nhs, address, opens_episode)| MentionIdentity {
                    opens_episode,
                    ..mention(agency, seq, nhs, address)
                },
            )
    }

    proptest! {
        /// Whatever the mentions: the first record's agency comes first, every
        /// agency at most once, and each established agency other than the first
        /// shares the identifier it is established by with an agency established
        /// before it. The order of the input does not matter.
        #[test]
        fn established_agencies_rest_on_earlier_ones(
            mentions in prop::collection::vec(arbitrary_mention(), 0..12)
        ) {
            // Every mention its own key, as in a picture.
            let mentions: Vec<MentionIdentity> = mentions
                .into_iter()
                .enumerate()
                .map(|(idx, mut mention)| {
                    mention.mention_key = format!("{}/R-{idx}/c", mention.agency);
                    mention
                })
                .collect();
            let found = corroborated(&mentions);
            let agencies: BTreeSet<&str> = found.iter().map(|f| f.agency.as_str()).collect();
            prop_assert_eq!(agencies.len(), found.len());
            for (idx, corroboration) in found.iter().enumerate() {
                let of = |key: &str| mentions.iter().find(|m| m.mention_key == key).cloned();
                let own = of(&corroboration.mention_key).expect("a mention of the input");
                prop_assert_eq!(&own.agency, &corroboration.agency);
                if idx == 0 {
                    prop_assert_eq!(corroboration.basis, RecordBasis::FirstRecord);
                    let earliest = mentions.iter().map(|m| (m.seq, m.mention_key.clone())).min();
                    prop_assert_eq!(Some((own.seq, own.mention_key.clone())), earliest);
                    continue;
                }
                if corroboration.basis == RecordBasis::SocialCareEpisode {
                    prop_assert!(own.opens_episode);
                    continue;
                }
                let earlier: BTreeSet<&str> =
                    found[..idx].iter().map(|f| f.agency.as_str()).collect();
                let vouched = mentions.iter().any(|other| {
                    earlier.contains(other.agency.as_str())
                        && match corroboration.basis {
                            RecordBasis::NhsNumber => {
                                own.nhs_number.is_some() && other.nhs_number == own.nhs_number
                            }
                            RecordBasis::Address => {
                                own.address.is_some() && other.address == own.address
                            }
                            RecordBasis::FirstRecord | RecordBasis::SocialCareEpisode => false,
                        }
                });
                prop_assert!(vouched, "{:?} rests on nothing", corroboration);
            }
            let mut reversed = mentions.clone();
            reversed.reverse();
            prop_assert_eq!(corroborated(&reversed), found);
        }
    }
}
