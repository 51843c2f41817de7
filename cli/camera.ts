/**
 * `simreal camera …`: cameras. Without a subcommand it publishes a camera on the bridge as a
 * robot's image feature (camera-capture.ts); subcommands: `calibrate` (a camera file from photos
 * of a ChArUco board) and `board` (the board to print). The calibration work lives in
 * sim/camera/calibration.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { CommandModule } from './command-module.ts';
import { registerCameraCapture } from './camera-capture.ts';
import { UserError } from './errors.ts';
import { parseIntOption, parseNumberOption } from './options.ts';

interface BoardFlags {
  board: string;
  dictionary: string;
}

interface CalibrateFlags extends BoardFlags {
  images: string;
  out: string;
  tableImage?: string;
  boardPose: string;
  boardHeight: string;
  k3?: boolean;
  minViews: string;
  name?: string;
  overwrite?: boolean;
}

interface PrintFlags extends BoardFlags {
  out: string;
  dpi: string;
  overwrite?: boolean;
}

const BOARD_HELP = 'ChArUco board: WxH squares, square edge in metres, optionally the marker edge (default 3/4 square), e.g. 7x5:0.04';

const CALIBRATE_HELP = `
Photos: PNG or JPEG files in --images, all from the camera in the same mode (resolution, focus,
zoom), of a ChArUco board printed with \`simreal camera board\` and glued flat (a checkerboard whose
white squares hold ArUco markers: OpenCV finds its corners even where the board is partly hidden,
and never mistakes its origin for the opposite corner).

How the table frame enters (origin at the centre of the table top, x to the right seen from the
front, y away from the front, z up, metres: the simulator's world frame):
  - intrinsics and lens distortion come from all photos: 10-20 of them, the board filling much of
    the image, tilted 20-45 degrees in different directions, reaching into the image corners;
  - the camera's pose comes from one photo, the table image (--table-image, default the first file
    by name): the camera at its working place, the board lying printed side up on the table at a
    measured placement --board-pose x,y,yawDeg: (x, y) is the board's origin corner, the outer
    corner of the top-left square as printed, and yawDeg the direction of the board's top edge
    (left to right as printed) from the table's x axis. Yaw 0 reads the print upright from the
    front. --board-height adds the thickness of a backing plate.

Photos in which the board is not found, or that show fewer than 6 corners, are named and skipped;
the calibration stops when fewer than --min-views remain or the table image shows no board.
Prints the RMS reprojection error (well under 1 px for a good calibration) and writes the camera
file (sim/camera/camera-file.ts).

Example:
  npx simreal camera board --board 7x5:0.04 --out board.png        # print at 100 %, measure a square
  npx simreal camera calibrate --images photos/ --board 7x5:0.04 --table-image table.jpg \\
      --board-pose -0.14,0.1,0 --out cam.json`;

async function boardSpec(f: BoardFlags) {
  const { parseBoard } = await import('../sim/camera/calibration/board.ts');
  try {
    return parseBoard(f.board, f.dictionary);
  } catch (err) {
    throw new UserError(`--board: ${(err as Error).message}`);
  }
}

function refuseOverwrite(path: string, overwrite: boolean | undefined): void {
  if (existsSync(path) && !overwrite) throw new UserError(`${path} exists; pass --overwrite to replace it`);
}

function parsePlacement(text: string, heightText: string): { x: number; y: number; yawDeg: number; height: number } {
  const parts = text.split(',').map((s) => s.trim());
  if (parts.length !== 3) throw new UserError(`--board-pose expects x,y,yawDeg (metres, metres, degrees), e.g. -0.14,0.1,0; got "${text}"`);
  return {
    x: parseNumberOption('--board-pose x', parts[0], -10, 10),
    y: parseNumberOption('--board-pose y', parts[1], -10, 10),
    yawDeg: parseNumberOption('--board-pose yawDeg', parts[2], -360, 360),
    height: parseNumberOption('--board-height', heightText, -1, 1),
  };
}

function fmt(v: number, digits: number): string {
  return v.toFixed(digits);
}

export const cameraCommand: CommandModule = {
  register(program: Command) {
    const camera = program.command('camera').description('Cameras: publish a camera on the bridge as a robot\'s image feature; calibrate a real camera (intrinsics, distortion, pose on the table) and print the calibration board.');
    registerCameraCapture(camera);

    camera
      .command('calibrate')
      .description('Write a camera file (intrinsics, lens distortion, pose in the table frame) from photos of a ChArUco board.')
      .requiredOption('--images <dir>', 'folder of PNG/JPEG photos of the board')
      .requiredOption('--board <WxH:SIZE[:MARKER]>', BOARD_HELP)
      .option('--dictionary <name>', 'ArUco dictionary the board was printed with', 'DICT_4X4_50')
      .option('--table-image <file>', 'the photo with the board lying at --board-pose on the table (default: the first file by name)')
      .option('--board-pose <x,y,yawDeg>', "the board's origin corner on the table (m) and its top edge's direction (degrees from the table's x)", '0,0,0')
      .option('--board-height <m>', 'height of the printed surface above the table top (a backing plate)', '0')
      .option('--k3', 'also fit the 6th-order radial term k3 (wide-angle lenses)')
      .option('--min-views <n>', 'fewest usable photos', '3')
      .option('--name <name>', 'camera name stored in the file')
      .option('-o, --out <file>', 'camera file to write', 'camera.json')
      .option('--overwrite', 'replace an existing --out file')
      .addHelpText('after', CALIBRATE_HELP)
      .action(async (f: CalibrateFlags) => {
        const board = await boardSpec(f);
        const placement = parsePlacement(f.boardPose, f.boardHeight);
        const minViews = parseIntOption('--min-views', f.minViews, 1, 1000);
        const out = resolve(f.out);
        refuseOverwrite(out, f.overwrite);
        const { listImages, readCalibrationImages } = await import('../sim/camera/calibration/images.ts');
        const { calibrateCamera, CalibrationError } = await import('../sim/camera/calibration/calibrate.ts');
        const { writeCameraFile } = await import('../sim/camera/io.ts');
        let names: string[];
        try {
          names = listImages(f.images);
        } catch (err) {
          throw new UserError(`--images: ${(err as Error).message}`);
        }
        if (names.length === 0) throw new UserError(`--images: no PNG or JPEG photos (.png, .jpg, .jpeg) in ${f.images}`);
        const tableImage = f.tableImage ?? names[0];
        if (!names.includes(tableImage)) throw new UserError(`--table-image: ${tableImage} is not among the photos in ${f.images} (${names.join(', ')})`);
        const log = (line: string) => process.stderr.write(`${line}\n`);
        const images = readCalibrationImages(f.images, (name, why) => log(`${name}: skipped, ${why}`));
        if (!images.some((i) => i.name === tableImage)) throw new UserError(`the table image ${tableImage} cannot be read; it gives the camera's pose, so it is needed`);
        log(`table image: ${tableImage} (board origin at ${placement.x}, ${placement.y} m, yaw ${placement.yawDeg}°)`);
        let result;
        try {
          result = await calibrateCamera({ board, images, tableImage, placement, minViews, fitK3: f.k3, name: f.name, log });
        } catch (err) {
          if (err instanceof CalibrationError) throw new UserError(err.message);
          throw err;
        }
        writeCameraFile(out, result.camera);
        const c = result.camera, k = c.intrinsics, m = c.cameraToTable;
        const used = result.views.filter((v) => !v.skipped).length;
        process.stdout.write(
          `wrote ${out}: ${c.width}x${c.height}, fx ${fmt(k.fx, 2)} fy ${fmt(k.fy, 2)} cx ${fmt(k.cx, 2)} cy ${fmt(k.cy, 2)} px, ` +
            `distortion [${c.distortion.map((d) => fmt(d, 5)).join(', ')}]\n` +
            `camera at (${fmt(m[3], 4)}, ${fmt(m[7], 4)}, ${fmt(m[11], 4)}) m in the table frame, looking along (${fmt(m[2], 3)}, ${fmt(m[6], 3)}, ${fmt(m[10], 3)})\n` +
            `RMS reprojection error ${fmt(result.rmsPx, 3)} px over ${used} of ${names.length} photos (table image ${fmt(result.tableRmsPx, 3)} px)\n`,
        );
      });

    camera
      .command('board')
      .description('Write the ChArUco board to print for `camera calibrate` (PNG, with a white margin of half a square).')
      .requiredOption('--board <WxH:SIZE[:MARKER]>', BOARD_HELP)
      .option('--dictionary <name>', 'ArUco dictionary of the markers', 'DICT_4X4_50')
      .option('--dpi <n>', 'printer resolution: pixels per inch of the PNG', '300')
      .option('-o, --out <file>', 'PNG to write', 'board.png')
      .option('--overwrite', 'replace an existing --out file')
      .action(async (f: PrintFlags) => {
        const board = await boardSpec(f);
        const dpi = parseIntOption('--dpi', f.dpi, 50, 2400);
        const out = resolve(f.out);
        refuseOverwrite(out, f.overwrite);
        const pxPerSquare = Math.round((board.squareSize / 0.0254) * dpi);
        const { CharucoDetector, loadOpenCv } = await import('../sim/camera/calibration/opencv.ts');
        const { encode } = await import('fast-png');
        const { cv } = await loadOpenCv();
        const det = new CharucoDetector(cv, board);
        let img;
        try {
          img = det.image(board, pxPerSquare, Math.round(pxPerSquare / 2));
        } finally {
          det.delete();
        }
        writeFileSync(out, encode({ width: img.width, height: img.height, data: img.data, channels: 1, depth: 8 }));
        const mm = (px: number) => ((px / dpi) * 25.4).toFixed(1);
        process.stdout.write(
          `wrote ${out}: ${img.width}x${img.height} px at ${dpi} dpi = ${mm(img.width)} x ${mm(img.height)} mm; ` +
            `print it at that size (100 %, no fitting to the page) and check that a square measures ${(board.squareSize * 1000).toFixed(1)} mm (else pass the measured size to --board)\n`,
        );
      });
  },
};
