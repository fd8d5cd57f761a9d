<?php
// The seeds' resize as php-fpm + GD ran it (TimThumb-style zc=1, the default): scale the
// source to cover the w x h box, centre-crop the overflow, one imagecopyresampled, JPEG
// at quality q. Written for `npm run bench` (the peer it measures the resizer against);
// not part of the product.
//
//   /gd-resize.php?src=<path under IMAGES_ROOT>&w=320&h=180&q=80[&fmt=png]
//   /gd-resize.php?info=1   -> PHP and GD versions, as JSON
//
// fmt=png writes the same pixels losslessly: the quality table uses it to separate GD's
// resampling from its JPEG encoding.

if (isset($_GET['info'])) {
    header('Content-Type: application/json');
    echo json_encode(['php' => PHP_VERSION, 'gd' => gd_info()['GD Version']]);
    exit;
}

function refuse(int $status, string $why): void {
    http_response_code($status);
    header('Content-Type: text/plain');
    echo $why, "\n";
    exit;
}

$root = realpath(getenv('IMAGES_ROOT') ?: ($_SERVER['IMAGES_ROOT'] ?? ''));
if ($root === false) refuse(500, 'IMAGES_ROOT is not set');
$path = realpath($root . '/' . ltrim((string)($_GET['src'] ?? ''), '/'));
if ($path === false || strpos($path, $root . '/') !== 0 || !is_file($path)) refuse(404, 'no such source');

$w = (int)($_GET['w'] ?? 0);
$h = (int)($_GET['h'] ?? 0);
$q = (int)($_GET['q'] ?? 80);
if ($w < 1 || $w > 4096 || $h < 1 || $h > 4096 || $q < 1 || $q > 100) refuse(400, 'bad w, h or q');

$info = getimagesize($path);
if ($info === false) refuse(422, 'not an image');
switch ($info[2]) {
    case IMAGETYPE_JPEG: $src = imagecreatefromjpeg($path); break;
    case IMAGETYPE_PNG: $src = imagecreatefrompng($path); break;
    case IMAGETYPE_WEBP: $src = imagecreatefromwebp($path); break;
    case IMAGETYPE_GIF: $src = imagecreatefromgif($path); break;
    default: refuse(422, 'unsupported image type');
}
if ($src === false) refuse(422, 'cannot decode');
$sw = imagesx($src);
$sh = imagesy($src);

// Cover: the largest centred region of the source with the box's aspect ratio.
$scale = max($w / $sw, $h / $sh);
$cw = min($sw, (int)round($w / $scale));
$ch = min($sh, (int)round($h / $scale));
$cx = (int)floor(($sw - $cw) / 2);
$cy = (int)floor(($sh - $ch) / 2);

$out = imagecreatetruecolor($w, $h);
imagecopyresampled($out, $src, 0, 0, $cx, $cy, $w, $h, $cw, $ch);
imagedestroy($src);

if (($_GET['fmt'] ?? '') === 'png') {
    header('Content-Type: image/png');
    imagepng($out, null, 1);
} else {
    header('Content-Type: image/jpeg');
    imagejpeg($out, null, $q);
}
imagedestroy($out);
