"""Int8 export: conversion, MUL scale alignment, .tflite inspection, C header, host references."""
