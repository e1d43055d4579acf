//! Drives a [`ReadOp`] over files held in memory, answering its requests and running
//! its decode jobs in a seeded random order, the way a concurrent driver would.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use zarr_proto::ArrayMetadata;
use zarr_proto::Limits;
use zarr_proto::NdArray;
use zarr_proto::Selection;
use zarr_proto::{ReadOp, ReadStats, Request, Response};

use crate::fixture::{chunk_files, read_chunk};

/// The chunk (or shard) files of one array, by key relative to the array.
#[derive(Debug, Clone, Default)]
pub struct MemStore {
    files: HashMap<String, Vec<u8>>,
}

impl MemStore {
    /// Reads every non-metadata file below the array directory `dir`.
    ///
    /// # Errors
    /// IO errors, with the path.
    pub fn load(dir: &Path) -> Result<MemStore, String> {
        let mut files = HashMap::new();
        for key in chunk_files(dir)? {
            if let Some(bytes) = read_chunk(dir, &key)? {
                files.insert(key, bytes);
            }
        }
        Ok(MemStore { files })
    }

    /// The object at `key`.
    pub fn get(&self, key: &str) -> Option<&[u8]> {
        self.files.get(key).map(Vec::as_slice)
    }

    /// Number of objects.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether the store holds nothing.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The answer a store gives to `req`.
    ///
    /// # Errors
    /// A byte range that does not fit the object.
    pub fn answer(&self, req: &Request) -> Result<Response, String> {
        let Some(bytes) = self.get(&req.key) else { return Ok(Response::Missing) };
        match &req.range {
            None => Ok(Response::Bytes(bytes.to_vec().into())),
            Some(range) => range.slice(bytes).map(|b| Response::Bytes(b.to_vec().into())).ok_or_else(|| {
                format!("request for {} asks for {range:?}, outside the object of {} bytes", req.key, bytes.len())
            }),
        }
    }
}

/// A small seeded generator (xorshift64*), so failures replay exactly.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded from `seed` (any value, zero included).
    pub fn new(seed: u64) -> Rng {
        Rng((seed ^ 0x9e37_79b9_7f4a_7c15) | 1)
    }

    /// A generator seeded from a name (FNV-1a), e.g. a fixture's.
    pub fn from_name(name: &str) -> Rng {
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        for b in name.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        Rng::new(h)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// What [`read_shuffled`] returns.
#[derive(Debug, Clone)]
pub struct ShuffledRead {
    /// The assembled array.
    pub array: NdArray,
    /// The op's counters.
    pub stats: ReadStats,
    /// How many requests asked for a byte range (shard indexes and inner chunks).
    pub ranged_requests: u64,
}

/// Reads `selection` through a [`ReadOp`], answering requests from `store` and running
/// decode jobs in an order `rng` shuffles (requests and decodes interleaved).
///
/// Besides the op's own errors this fails when a request asks for a byte range outside
/// its object, when the same (key, range) is requested twice, or when the op stalls
/// (nothing left to answer but not done).
///
/// # Errors
/// A description of what went wrong, with the key when there is one.
pub fn read_shuffled(
    meta: &ArrayMetadata,
    selection: &Selection,
    limits: Limits,
    store: &MemStore,
    rng: &mut Rng,
) -> Result<ShuffledRead, String> {
    let mut op = ReadOp::new(meta, selection, limits).map_err(|e| format!("ReadOp::new: {e}"))?;
    let mut requests = Vec::new();
    let mut jobs = Vec::new();
    let mut seen = BTreeSet::new();
    let mut ranged_requests = 0;
    loop {
        while let Some(req) = op.poll_request() {
            if !seen.insert((req.key.clone(), format!("{:?}", req.range))) {
                return Err(format!("{} {:?} requested twice", req.key, req.range));
            }
            ranged_requests += u64::from(req.range.is_some());
            requests.push(req);
        }
        while let Some(job) = op.poll_decode() {
            jobs.push(job);
        }
        if requests.is_empty() && jobs.is_empty() {
            break;
        }
        let i = rng.below(requests.len() + jobs.len());
        if i < requests.len() {
            let req = requests.swap_remove(i);
            let response = store.answer(&req)?;
            op.handle_response(req.id, response).map_err(|e| format!("handle_response({}): {e}", req.key))?;
        } else {
            let job = jobs.swap_remove(i - requests.len());
            let key = job.key().to_string();
            op.handle_decoded(job.run()).map_err(|e| format!("handle_decoded({key}): {e}"))?;
        }
    }
    if !op.is_done() {
        let (done, total) = op.progress();
        return Err(format!("stalled: no requests or decode jobs left with {done} of {total} chunks done"));
    }
    let stats = op.stats();
    let array = op.finish().map_err(|e| format!("finish: {e}"))?;
    Ok(ShuffledRead { array, stats, ranged_requests })
}
