# The raw layer: constants and plain C structs, named as in include/imkit.h.
# tests/julia_binding.rs checks every value, field and @ccall here against the header.

const IMKIT_ABI_VERSION = 1

# imkit_status (plain Int32 constants: a code added later must not make errors throw twice)
const IMKIT_STATUS_OK = Int32(0)
const IMKIT_STATUS_INVALID_ARG = Int32(100)
const IMKIT_STATUS_NULL_ARG = Int32(101)
const IMKIT_STATUS_INVALID_HANDLE = Int32(102)
const IMKIT_STATUS_OUT_OF_BOUNDS = Int32(103)
const IMKIT_STATUS_BUFFER_TOO_SMALL = Int32(104)
const IMKIT_STATUS_MISMATCH = Int32(105)
const IMKIT_STATUS_IO = Int32(200)
const IMKIT_STATUS_FORMAT = Int32(201)
const IMKIT_STATUS_UNSUPPORTED = Int32(202)
const IMKIT_STATUS_BAD_STATE = Int32(300)
const IMKIT_STATUS_WOULD_BLOCK = Int32(301)
const IMKIT_STATUS_CANCELLED = Int32(302)
const IMKIT_STATUS_INTERNAL = Int32(900)
const IMKIT_STATUS_PANIC = Int32(901)

# imkit_dtype
const IMKIT_DTYPE_U8 = Int32(1)
const IMKIT_DTYPE_U16 = Int32(2)
const IMKIT_DTYPE_F16 = Int32(3)
const IMKIT_DTYPE_F32 = Int32(4)
const IMKIT_DTYPE_F64 = Int32(5)
const IMKIT_DTYPE_I8 = Int32(6)
const IMKIT_DTYPE_I16 = Int32(7)
const IMKIT_DTYPE_U32 = Int32(8)
const IMKIT_DTYPE_I32 = Int32(9)
const IMKIT_DTYPE_U64 = Int32(10)
const IMKIT_DTYPE_I64 = Int32(11)

# imkit_file_format
const IMKIT_FILE_FORMAT_PNG = Int32(1)
const IMKIT_FILE_FORMAT_JPEG = Int32(2)
const IMKIT_FILE_FORMAT_TIFF = Int32(3)
const IMKIT_FILE_FORMAT_EXR = Int32(4)
const IMKIT_FILE_FORMAT_NPY = Int32(5)

# imkit_exr_compression
const IMKIT_EXR_COMPRESSION_NONE = Int32(0)
const IMKIT_EXR_COMPRESSION_RLE = Int32(1)
const IMKIT_EXR_COMPRESSION_ZIPS = Int32(2)
const IMKIT_EXR_COMPRESSION_ZIP = Int32(3)
const IMKIT_EXR_COMPRESSION_PIZ = Int32(4)

# imkit_corner
const IMKIT_CORNER_TL = Int32(0)
const IMKIT_CORNER_TR = Int32(1)
const IMKIT_CORNER_BL = Int32(2)
const IMKIT_CORNER_BR = Int32(3)
const IMKIT_CORNER_CENTER = Int32(4)

# imkit_edge
const IMKIT_EDGE_ERROR = Int32(0)
const IMKIT_EDGE_CLIP = Int32(1)
const IMKIT_EDGE_PAD = Int32(2)

# imkit_partition_edge
const IMKIT_PARTITION_EDGE_CLIP = Int32(0)
const IMKIT_PARTITION_EDGE_DROP = Int32(1)
const IMKIT_PARTITION_EDGE_PAD = Int32(2)
const IMKIT_PARTITION_EDGE_SHIFT = Int32(3)

# imkit_blend
const IMKIT_BLEND_OVERWRITE = Int32(0)
const IMKIT_BLEND_AVERAGE = Int32(1)
const IMKIT_BLEND_LINEAR = Int32(2)
const IMKIT_BLEND_GAUSSIAN = Int32(3)

# imkit_layout
const IMKIT_LAYOUT_INTERLEAVED = Int32(0)
const IMKIT_LAYOUT_PLANAR = Int32(1)

# imkit_key_kind
const IMKIT_KEY_KIND_INDEX = Int32(0)
const IMKIT_KEY_KIND_SLICE = Int32(1)
const IMKIT_KEY_KIND_ALL = Int32(2)

# imkit_iid_select
const IMKIT_IID_SELECT_ALL = Int32(0)
const IMKIT_IID_SELECT_KEYS = Int32(1)
const IMKIT_IID_SELECT_GROUPS = Int32(2)

# imkit_iid_mask_format
const IMKIT_IID_MASK_FORMAT_BYTES = Int32(0)
const IMKIT_IID_MASK_FORMAT_PACKED = Int32(1)

struct imkit_image_view
    data::Ptr{Cvoid}
    width::UInt64
    height::UInt64
    row_stride_bytes::Csize_t
    channels::UInt32
    dtype::Int32
end

struct imkit_image_info
    width::UInt64
    height::UInt64
    channels::UInt32
    dtype::Int32
    file_format::Int32
end

struct imkit_tile_spec
    x::Int64
    y::Int64
    width::UInt64
    height::UInt64
    fill::Cdouble
    corner::Int32
    edge::Int32
end

struct imkit_rect
    left::UInt64
    top::UInt64
    right::UInt64
    bottom::UInt64
end

struct imkit_tile_info
    row::UInt64
    col::UInt64
    rect::imkit_rect
    out_rect::imkit_rect
    input_rect::imkit_rect
end

struct imkit_axis_key
    kind::Int32
    has_start::Bool
    has_stop::Bool
    start::Int64
    stop::Int64
end

struct imkit_iid_bbox
    minr::Int64
    minc::Int64
    maxr::Int64
    maxc::Int64
end

struct imkit_iid_segment_info
    bbox::imkit_iid_bbox
    area::UInt64
    region_count::UInt64
    mask_bytes::UInt64
    mask_packed_bytes::UInt64
end

struct imkit_iid_bytes
    data::Ptr{UInt8}
    len::Csize_t
end

struct imkit_iid_area_range
    min::UInt64
    max::UInt64
    exclusive::Bool
end

struct imkit_iid_edge
    a::UInt32
    b::UInt32
    pixels::UInt64
end
