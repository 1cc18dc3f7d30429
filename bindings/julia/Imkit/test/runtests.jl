# Run with: IMKIT_LIB=/path/to/libimkit.so julia --project=bindings/julia/Imkit -e 'using Pkg; Pkg.test()'
# (default library: the repository's target/release/libimkit.so, from `cargo build --release`).
using Imkit
using Test

const FIXTURES = normpath(joinpath(@__DIR__, "..", "..", "..", "..", "tests", "fixtures"))

@testset "Imkit" begin
    @testset "library" begin
        @test abi_version() == Imkit.IMKIT_ABI_VERSION
        @test version() > 0
        @test !isempty(version_string())
        set_num_threads(2)
        @test num_threads() == 2
        set_num_threads(0)
        @test startswith(status_str(Imkit.IMKIT_STATUS_IO), "IMKIT_STATUS_IO:")
        @test startswith(status_str(12345), "IMKIT_STATUS_UNKNOWN")
    end

    @testset "errors" begin
        missing_path = joinpath(mktempdir(), "missing.png")
        err = try
            read_image(missing_path)
            nothing
        catch e
            e
        end
        @test err isa ImkitError
        @test err.code == Imkit.IMKIT_STATUS_IO
        @test occursin("missing.png", err.msg)
        @test occursin("IMKIT_STATUS_IO", sprint(showerror, err))
        @test_throws ImkitError WriteOptions(png_compression=42)
    end

    @testset "images" begin
        dir = mktempdir()
        path = joinpath(dir, "small.png")
        a = UInt16[c * 1000 + x * 10 + y for c in 1:2, x in 1:8, y in 1:4]   # (channels, width, height)
        write_image(path, a)
        info = image_info(path)
        @test (info.width, info.height, info.channels, info.eltype) == (8, 4, 2, UInt16)
        @test info.format == Imkit.IMKIT_FILE_FORMAT_PNG
        img = read_image(path)
        @test pixels(img) == a
        close(img)
        close(img)                                # idempotent
        @test_throws ImkitError pixels(img)       # closed handles never reach C
        m = UInt8[x + 10y for x in 1:5, y in 1:3] # one channel: (width, height)
        write_image(joinpath(dir, "gray.png"), m; options=WriteOptions(png_compression=1))
        @test pixels(read_image(joinpath(dir, "gray.png"))) == reshape(m, 1, 5, 3)
    end

    @testset "tiling" begin
        a = UInt8[(7 * (c + 3x + 300y)) % 256 for c in 1:3, x in 1:96, y in 1:64]
        spec = tile_spec(x=95, y=63, corner=Imkit.IMKIT_CORNER_BR, width=16, height=8)
        w, h, r = place_tile(spec, 96, 64)
        @test (w, h) == (16, 8)
        @test (r.left, r.top, r.right, r.bottom) == (80, 56, 96, 64)
        t = extract_tile(a, spec)
        @test t == a[:, 81:96, 57:64]             # imkit's (80, 56) is Julia's (81, 57)
        before = copy(a)
        paste_tile!(a, 0xff .- t, spec)
        @test a[:, 81:96, 57:64] == 0xff .- before[:, 81:96, 57:64]
        @test a[:, 1:80, :] == before[:, 1:80, :]
        @test_throws ImkitError extract_tile(a, tile_spec(x=200, y=0, width=16, height=8))
        @test_throws ImkitError paste_tile!(a, UInt8.(zeros(UInt8, 3, 16, 8))[1:2, :, :], spec)

        dir = mktempdir()
        base, tile, out = joinpath.(dir, ("base.png", "tile.png", "out.png"))
        write_image(base, before)
        calls = Ref(0)
        rect = extract_tile_file(base, tile, spec; progress=(done, total) -> (calls[] += 1; done <= total))
        @test calls[] > 0
        @test rect.left == 80
        @test pixels(read_image(tile)) == before[:, 81:96, 57:64]
        paste_tile_file(base, tile, out, tile_spec(x=95, y=63, corner=Imkit.IMKIT_CORNER_BR, width=0, height=0))
        @test pixels(read_image(out)) == before
        cancelled = joinpath(dir, "cancelled.png")
        e = try
            extract_tile_file(base, cancelled, spec; progress=(d, t) -> false)
        catch err
            err
        end
        @test e isa ImkitError && e.code == Imkit.IMKIT_STATUS_CANCELLED
        @test !isfile(cancelled)
        # An error inside the callback never unwinds through imkit: it is thrown again here.
        @test_throws DomainError extract_tile_file(base, cancelled, spec; progress=(d, t) -> throw(DomainError(d)))
    end

    @testset "save, load and the save queue" begin
        dir = mktempdir()
        a = UInt8[(7 * (c + 3x + 48y)) % 256 for c in 1:3, x in 1:16, y in 1:8]
        written = save_image(joinpath(dir, "frame"), a; metadata="{\"exposure\": 0.01}")
        @test written == joinpath(dir, "frame.png")
        img, meta = load(written)
        @test occursin("exposure", meta)
        @test array_shape(img) == [8, 16, 3]          # imkit's C order: (h, w, c)
        @test array_data(img) == a                    # Julia's order: (c, w, h)
        @test pixels(img) == a
        metadata_save(written, "{\"lens\": \"50mm\"}")
        @test occursin("50mm", metadata_load(written))
        @test_throws ImkitError save_image(joinpath(dir, "bad.png"), a; metadata="[nope")

        m = [1.5 2.5 3.5; 4.5 5.5 6.5]                # 2x3 Julia matrix -> (3, 2) C-order array
        npy = save_array(joinpath(dir, "values"), m)
        arr, _ = load(npy)
        @test array_shape(arr) == [3, 2]
        @test array_data(arr) == m

        g1, g2 = zeros(UInt16, 4, 2), fill(UInt16(2), 5, 3)
        save_dir(joinpath(dir, "seq"), [g1, g2]; metadata=["{\"i\": 1}"])
        @test_throws ImkitError save_dir(joinpath(dir, "seq"), [g1])
        save_dir(joinpath(dir, "seq"), [g1, g2]; metadata=["{\"i\": 1}", "{\"i\": 2}"],
                 options=SaveOptions(overwrite=true, write=WriteOptions(png_compression=1)))
        l = load_dir(joinpath(dir, "seq"))
        @test length(l) == 2
        data, meta2, path2 = l[2]
        @test data == g2 && occursin("2", meta2) && endswith(path2, "1.png")   # one channel: (w, h)
        close(l)
        save_list(joinpath.(dir, ["l0.png", "l1.png"]), [g1, g2])
        @test length(load_list(joinpath.(dir, ["l0.png", "l1.png"]))) == 2

        touch(joinpath(dir, "file"))
        q = SaveQueue(SaveQueueOptions(threads=2, max_pending_jobs=4))
        frame = copy(a)
        for i in 0:9
            frame[1] = UInt8(i)                       # the queue copied the previous frame
            push!(q, joinpath(dir, "q$i"), frame; metadata="{\"frame\": $i}")
        end
        bad = push!(q, joinpath(dir, "file", "x.png"), a)
        e = try
            flush(q)
        catch err
            err
        end
        @test e isa ImkitError && e.code == Imkit.IMKIT_STATUS_IO
        job, msg = next_error(q)
        @test job == bad && occursin("x.png", msg)
        @test next_error(q) === nothing
        close(q)
        close(q)                                      # idempotent
        @test_throws ImkitError push!(q, joinpath(dir, "late"), a)
        @test array_data(first(load(joinpath(dir, "q7.png"))))[1] == 7

        SaveQueue() do q2                             # the do-block form closes the queue
            push!(q2, joinpath(dir, "block"), a)
        end
        @test isfile(joinpath(dir, "block.png"))
    end

    @testset "partition, fragment and stitch" begin
        a = UInt8[(11 * (c + 3x + 192y)) % 256 for c in 1:3, x in 1:64, y in 1:48]
        p = partition(a; options=PartitionOptions(cell=(16, 16), step=(16, 16)))
        @test grid_shape(p) == (3, 4, 1)
        @test grid_step(p) == (16.0, 16.0)
        info = source_info(p)
        @test (info.width, info.height, info.channels, info.eltype) == (64, 48, 3, UInt8)
        r = cell_rect(p, 1, -2)                       # imkit indices: 0-based, negative from the end
        @test (r.left, r.top, r.right, r.bottom) == (32, 16, 48, 32)
        @test_throws ImkitError cell_rect(p, 3, 0)
        @test read_cell(p, 1, 2) == a[:, 33:48, 17:32]
        @test read_cell(p, 1, 2; layout=Imkit.IMKIT_LAYOUT_PLANAR) == permutedims(a[:, 33:48, 17:32], (2, 3, 1))
        keys = [key_slice(0, 2), key_index(-1)]
        rect, n = selection(p, keys)
        @test (rect.left, rect.top, rect.right, rect.bottom, n) == (48, 0, 64, 32, 16 * 32 * 3)
        @test reshape(read_selection(p, keys), 3, 16, 32) == a[:, 49:64, 1:32]
        @test length(read_selection(p, [key_all(), key_slice(nothing, 1)])) == 16 * 48 * 3
        @test cells_at(p, 33, 17) == (1, 2, 2, 3)
        close(p)
        @test_throws ImkitError grid_shape(p)

        dir = mktempdir()
        src = joinpath(dir, "src.png")
        write_image(src, a)
        fp = open_partition(src; options=PartitionOptions(cell=(20, 24), stride=(0.75, 0.5),
                                                           edge=Imkit.IMKIT_PARTITION_EDGE_CLIP))
        frag = mkdir(joinpath(dir, "frag"))
        calls = Ref(0)
        fragment(fp, frag; progress=(d, t) -> (calls[] += 1; true))
        @test calls[] > 0
        out = joinpath(dir, "stitched.png")
        stitch(joinpath(frag, "manifest.json"), out; blend=Imkit.IMKIT_BLEND_AVERAGE)
        @test pixels(read_image(out)) == a
        vol = UInt16.(reshape(0:95, 6, 8, 2))     # Julia (w, h, d) = C-order (depth 2, height 8, width 6)
        vp = open_partition(save_array(joinpath(dir, "volume.npy"), vol);
                            options=PartitionOptions(volume=true, cell=(4, 3), step=(4, 3), depth=(1, 1)))
        @test source_info(vp).slices == 2 && grid_shape(vp)[3] == 2
        @test read_selection(vp, [key_index(1), key_index(0), key_index(0)]) == vec(vol[1:3, 1:4, 2])
        slab = Vector{UInt16}(undef, 3 * 4 * 2)   # both slices of cell (0, 0), read into our buffer
        @test read_selection!(slab, vp, [key_all(), key_index(0), key_index(0)]) === slab
        @test slab == vec(vol[1:3, 1:4, 1:2])
        e = try
            stitch(joinpath(frag, "manifest.json"), joinpath(dir, "never.png"); progress=(d, t) -> false)
        catch err
            err
        end
        @test e isa ImkitError && e.code == Imkit.IMKIT_STATUS_CANCELLED
    end

    @testset "tile pipeline" begin
        dir = mktempdir()
        a = UInt8[(3 * c + 5 * x + 7 * y) % 256 for c in 1:3, x in 1:120, y in 1:90]
        src = joinpath(dir, "pipe.png")
        write_image(src, a)
        opts = PipelineOptions(; cell=(48, 48), step=(36, 36), blend=Imkit.IMKIT_BLEND_LINEAR)
        cells = Tuple{UInt64,UInt64}[]
        map_tiles(src, joinpath(dir, "inv.png"); options=opts) do info, tin, tout
            push!(cells, (info.row, info.col))
            tout .= 0xff .- tin
        end
        @test pixels(read_image(joinpath(dir, "inv.png"))) == 0xff .- a
        @test first(cells) == (0, 0) && length(cells) == 9
        whole = PipelineOptions(; cell=(48, 48), step=(36, 36), blend=Imkit.IMKIT_BLEND_LINEAR,
                                output_overwritten=true)
        map_tiles(src, joinpath(dir, "inv2.png"); options=whole) do info, tin, tout
            tout .= 0xff .- tin
        end
        @test pixels(read_image(joinpath(dir, "inv2.png"))) == 0xff .- a
        up = PipelineOptions(; cell=(48, 48), step=(36, 36), scale=2)
        map_tiles(src, joinpath(dir, "up.png"); options=up) do info, tin, tout
            for y in axes(tout, 3), x in axes(tout, 2)
                tout[:, x, y] = tin[:, (x + 1) ÷ 2, (y + 1) ÷ 2]
            end
        end
        @test size(pixels(read_image(joinpath(dir, "up.png")))) == (3, 240, 180)
        e = try
            map_tiles(src, joinpath(dir, "bad.png"); options=opts) do info, tin, tout
                info.row == 1 && error("model failed at $(info.row),$(info.col)")
            end
        catch err
            err
        end
        @test e isa ErrorException && e.msg == "model failed at 1,0"
        @test !isfile(joinpath(dir, "bad.png"))
    end

    @testset "iid" begin
        path = joinpath(mktempdir(), "made.iid")
        w = IIDWriter()
        @test add!(w, "a", "d1", Imkit.imkit_iid_bbox(0, 0, 2, 3), Bool[1 1 0; 0 0 1]) == 0
        @test add!(w, "b", "", Imkit.imkit_iid_bbox(1, 2, 3, 4), trues(2, 2)) == 1
        @test add!(w, UInt8['x', 0x00, 'y'], "d1", Imkit.imkit_iid_bbox(10, 10, 11, 11), UInt8[0x80],
                   Imkit.IMKIT_IID_MASK_FORMAT_PACKED) == 2
        add_to_group!(w, "g1", 0)
        add_to_group!(w, "g1", 2)
        add_to_group!(w, "g2", 1)
        set_meta_json!(w, "{\"k\": 1}")
        @test_throws ImkitError set_meta_json!(w, "{nope")
        @test length(w) == 3
        save(w, path)
        close(w)

        f = open_iid(path)
        validate(f)
        @test length(f) == 3
        @test address(f, 2) == UInt8['x', 0x00, 'y']
        @test isempty(domain(f, 1))
        s = segment_info(f, 0)
        @test (s.area, s.region_count, s.mask_bytes, s.mask_packed_bytes) == (3, 1, 6, 1)
        @test mask(f, 0) == Bool[1 1 0; 0 0 1]   # (rows, columns)
        @test mask_bytes(f, 0) == UInt8[1, 1, 0, 0, 0, 1]
        @test mask_bytes(f, 0; packed=true) == UInt8[0xc4]
        box, area = region_info(f, 0, 0)
        @test area == 3 && box.maxr == 2
        @test meta_json(f) == "{\"k\": 1}"
        @test groups(f) == ["g1", "g2"]
        @test fetch_all(f; iids=true, segments=true) == [0, 1, 2]
        @test fetch_keys(f, [2, 0, 2]) == [0, 2]
        @test fetch_groups(f, ["g1"]) == [0, 2]
        @test_throws ImkitError fetch_keys(f, [7])
        @test look_for(f, ["b"]) == [1]
        @test look_for(f, ["a", "b", UInt8['x', 0x00, 'y']]; domains=["d1"]) == [0, 2]
        @test look_for(f, ["a", "b"]; groups=["g2"]) == [1]
        @test filter_keys(f; domains=["d1"]) == [0, 2]
        @test filter_keys(f; area=Imkit.imkit_iid_area_range(4, typemax(UInt64), false)) == [1]
        @test region(f, Imkit.imkit_iid_bbox(0, 0, 2, 2)) == [0]
        @test at(f, 1, 2) == [0, 1]
        @test isempty(at(f, 5, 5))
        @test at_compat(f, 3, 2) == [0, 1]
        g = overlap_graph(f)
        @test edges(g) == [Imkit.imkit_iid_overlap(0, 1, 1)]
        @test nodes(g)[1:2] == [0, 1]
        @test isempty(edges(overlap_graph(f; keys=[0, 2])))
        close(g)

        mem = open_iid_buffer(read(path))
        w2 = IIDWriter(mem)
        @test add!(w2, "d", "", Imkit.imkit_iid_bbox(20, 20, 21, 22), trues(1, 2)) == 3
        save(w2, path * ".more")
        @test length(open_iid(path * ".more")) == 4
        close(f)
        @test_throws ImkitError length(f)

        ref = open_iid(joinpath(FIXTURES, "iid", "overlapping.iid"))
        @test length(ref) == 16
        e = try
            open_iid(joinpath(FIXTURES, "iid", "bad", "meta_bad_json.iid"))
        catch err
            err
        end
        @test e isa ImkitError && e.code == Imkit.IMKIT_STATUS_FORMAT
    end
end
