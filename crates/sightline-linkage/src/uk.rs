//! Convenience for the built-in UK interchange settings: one person as one
//! agency recorded them, turned into a [`MentionInput`].

use crate::store::MentionInput;

/// A person mention from an interchange record (`persons[i]`), borrowing the
/// caller's strings. Columns match [`crate::Settings::uk_persons`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UkPersonMention<'a> {
    /// `source.agency`.
    pub agency: &'a str,
    /// `source.record_id`.
    pub record_id: &'a str,
    /// The person's `ref` within the record.
    pub person_ref: &'a str,
    /// The agency's own person id.
    pub source_person_id: Option<&'a str>,
    /// NHS number (only valid ones act as a strong identifier).
    pub nhs_number: Option<&'a str>,
    /// Given names as recorded.
    pub given_names: Option<&'a str>,
    /// Family name as recorded.
    pub family_name: Option<&'a str>,
    /// `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.
    pub dob: Option<&'a str>,
    /// `male`, `female`, `unknown`.
    pub sex: Option<&'a str>,
    /// Address lines, joined with spaces for token comparison.
    pub address_lines: &'a [String],
    /// Postcode as recorded.
    pub postcode: Option<&'a str>,
}

impl UkPersonMention<'_> {
    /// The mention key: `agency/record_id/ref`, unique per person mention.
    pub fn key(&self) -> String {
        format!("{}/{}/{}", self.agency, self.record_id, self.person_ref)
    }

    /// The linkage input.
    pub fn to_mention(&self) -> MentionInput {
        let mut mention = MentionInput::new(self.key()).with("agency", self.agency);
        let optional = [
            ("source_person_id", self.source_person_id),
            ("nhs_number", self.nhs_number),
            ("given_names", self.given_names),
            ("family_name", self.family_name),
            ("dob", self.dob),
            ("sex", self.sex),
            ("postcode", self.postcode),
        ];
        for (column, value) in optional {
            if let Some(value) = value {
                mention = mention.with(column, value);
            }
        }
        if !self.address_lines.is_empty() {
            mention = mention.with("address", self.address_lines.join(" "));
        }
        mention
    }
}
