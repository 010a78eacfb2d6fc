mod kernel;
