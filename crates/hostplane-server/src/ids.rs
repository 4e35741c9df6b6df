//! Resource uuids as ZStack makes them: 32 lower-case hex digits, a v4 uuid with its dashes
//! stripped. Here, below both the domain and the store, because both mint them (the store for
//! tag rows it writes).

/// A fresh uuid.
pub fn new_uuid() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
