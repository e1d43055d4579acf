//! `zarr create`: a new, empty array (every element the fill value until written).

use clap::{Args, ValueEnum};
use serde_json::Value;
use zarr_blocking::{Array, ArrayBuilder, DataType, ZarrFormat};
use zarr_proto::{Compression, FillValue};

use crate::{Remote, Result};

/// The compressor of a new array.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum Codec {
    /// zstd (zarr-python's default).
    Zstd,
    /// blosc with lz4 and shuffle.
    Blosc,
    /// gzip level 5.
    Gzip,
    /// No compression.
    None,
}

impl Codec {
    pub(crate) fn compression(self) -> Compression {
        match self {
            Codec::Zstd => Compression::Zstd { level: 0 },
            Codec::Blosc => Compression::BloscLz4,
            Codec::Gzip => Compression::Gzip { level: 5 },
            Codec::None => Compression::None,
        }
    }
}

/// How a new array is laid out: what `create`, and later `put` and `cp`, share.
#[derive(Args)]
pub(crate) struct Layout {
    /// Chunk shape, e.g. `100,100` (default: about 1 MiB per chunk).
    #[arg(long, value_delimiter = ',')]
    chunks: Option<Vec<u64>>,
    /// Shard shape, a multiple of the chunk shape in each dimension (v3 only).
    #[arg(long, value_delimiter = ',')]
    shards: Option<Vec<u64>>,
    /// Compressor [default: zstd].
    #[arg(long, value_enum)]
    codec: Option<Codec>,
    /// Zarr format version, 2 or 3 [default: 3].
    #[arg(long, value_parser = clap::value_parser!(u8).range(2..=3))]
    zarr_format: Option<u8>,
    /// User attributes, a JSON object.
    #[arg(long)]
    attrs: Option<String>,
}

/// Target size of a guessed chunk.
const DEFAULT_CHUNK_BYTES: u64 = 1 << 20;

impl Layout {
    /// The metadata of a new array of `shape` and `dtype` in this layout.
    pub(crate) fn build(&self, shape: Vec<u64>, dtype: DataType, fill: Option<FillValue>) -> Result<ArrayBuilder> {
        let chunks = match &self.chunks {
            Some(c) if c.len() != shape.len() => {
                return Err(format!("--chunks has {} dimensions, the array {}", c.len(), shape.len()).into())
            }
            Some(c) => c.clone(),
            None => ArrayBuilder::guess_chunks(&shape, dtype.size().unwrap_or(16), DEFAULT_CHUNK_BYTES),
        };
        let codec = self.codec.unwrap_or(Codec::Zstd);
        let mut builder = ArrayBuilder::new(shape, dtype, chunks).compression(codec.compression());
        builder.fill_value = fill;
        if let Some(shards) = &self.shards {
            builder = builder.shards(shards.clone());
        }
        if let Some(attrs) = &self.attrs {
            match serde_json::from_str(attrs) {
                Ok(Value::Object(map)) => builder.attributes = map,
                Ok(_) => return Err("--attrs must be a JSON object".into()),
                Err(e) => return Err(format!("--attrs is not JSON: {e}").into()),
            }
        }
        Ok(builder)
    }

    /// Whether any layout option was given (they apply only to a new array).
    pub(crate) fn is_given(&self) -> bool {
        self.chunks.is_some()
            || self.shards.is_some()
            || self.codec.is_some()
            || self.zarr_format.is_some()
            || self.attrs.is_some()
    }

    /// Like [`build`](Self::build), for a copy: chunks and shards not given come from
    /// the source (`chunks`, `shards`), shards only when the result is v3.
    pub(crate) fn build_like(
        &self,
        shape: Vec<u64>,
        dtype: DataType,
        chunks: Option<Vec<u64>>,
        shards: Option<Vec<u64>>,
    ) -> Result<ArrayBuilder> {
        let v3 = self.zarr_format != Some(2);
        let layout = Layout {
            chunks: self.chunks.clone().or(chunks),
            shards: self.shards.clone().or(if v3 && self.chunks.is_none() { shards } else { None }),
            codec: self.codec,
            zarr_format: self.zarr_format,
            attrs: self.attrs.clone(),
        };
        layout.build(shape, dtype, None)
    }

    /// The format asked for, else `default` (a copy keeps its source's format).
    pub(crate) fn format_or(&self, default: ZarrFormat) -> ZarrFormat {
        match self.zarr_format {
            Some(2) => ZarrFormat::V2,
            Some(_) => ZarrFormat::V3,
            None => default,
        }
    }

    pub(crate) fn format(&self) -> ZarrFormat {
        if self.zarr_format == Some(2) {
            ZarrFormat::V2
        } else {
            ZarrFormat::V3
        }
    }
}

/// `zarr create` arguments.
#[derive(Args)]
pub(crate) struct CreateArgs {
    /// Local path or file:// URL of the new array (s3://, or http(s):// for servers that accept PUT).
    dst: String,
    /// Shape, e.g. `1000,1000`.
    #[arg(long, value_delimiter = ',', required = true)]
    shape: Vec<u64>,
    /// Data type: a v3 name (`uint16`, `float32`, `bool`, ...) or a numpy string (`<u2`, `|b1`).
    #[arg(long)]
    dtype: String,
    /// Fill value as JSON (`0`, `1.5`, `"NaN"`, `true`); default zero.
    #[arg(long)]
    fill_value: Option<String>,
    #[command(flatten)]
    layout: Layout,
    #[command(flatten)]
    remote: Remote,
}

/// A data type named as in v3 metadata or as numpy writes it.
pub(crate) fn parse_dtype(name: &str) -> Result<DataType> {
    if let Ok(t) = DataType::from_v3_json(&Value::String(name.into())) {
        return Ok(t);
    }
    DataType::from_v2_str(name).map(|(t, _)| t).map_err(|e| format!("--dtype {name}: not a data type ({e})").into())
}

pub(crate) fn run(args: CreateArgs) -> Result<()> {
    let dtype = parse_dtype(&args.dtype)?;
    let fill = match &args.fill_value {
        None => None,
        Some(text) => {
            // Bare words (NaN, Infinity) are JSON strings in Zarr metadata.
            let value = serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.clone()));
            Some(FillValue::from_json(&dtype, &value, false).map_err(|e| format!("--fill-value {text}: {e}"))?)
        }
    };
    let meta = args.layout.build(args.shape, dtype, fill)?.build(args.layout.format())?;
    let store = args.remote.store(&args.dst)?;
    let array = Array::create(store, "", meta)?;
    println!(
        "created {} {:?} {} in chunks of {:?}",
        args.dst,
        array.shape(),
        array.data_type(),
        array.chunk_shape().unwrap_or_default()
    );
    Ok(())
}
