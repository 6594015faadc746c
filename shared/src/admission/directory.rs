//! Partners as the functions see them: read from the registry and kept for a minute, so a warm
//! function does not read the table on every request. A disabled partner is refused within a minute.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::domain::partner::Partner;
use crate::ports::{PartnerRegistry, StoreError};

pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(60);
/// Unknown ids are cached too (a flood of made-up ids would otherwise each cost a read); past this
/// many entries the cache starts over rather than grow.
const MAX_ENTRIES: usize = 1024;

type Entry = (Instant, Option<Arc<Partner>>);

pub struct PartnerDirectory {
    registry: Arc<dyn PartnerRegistry>,
    cache: Mutex<HashMap<String, Entry>>,
    pub ttl: Duration,
}

impl PartnerDirectory {
    pub fn new(registry: Arc<dyn PartnerRegistry>) -> Self {
        PartnerDirectory { registry, cache: Mutex::new(HashMap::new()), ttl: DEFAULT_CACHE_TTL }
    }

    pub fn registry(&self) -> &Arc<dyn PartnerRegistry> {
        &self.registry
    }

    pub async fn get(&self, id: &str) -> Result<Option<Arc<Partner>>, StoreError> {
        if let Some(cached) = self.cached(id) {
            return Ok(cached);
        }
        let partner = self.registry.partner(id).await?.map(Arc::new);
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= MAX_ENTRIES {
                cache.clear();
            }
            cache.insert(id.to_owned(), (Instant::now(), partner.clone()));
        }
        Ok(partner)
    }

    fn cached(&self, id: &str) -> Option<Option<Arc<Partner>>> {
        let cache = self.cache.lock().ok()?;
        let (at, partner) = cache.get(id)?;
        (at.elapsed() < self.ttl).then(|| partner.clone())
    }
}
