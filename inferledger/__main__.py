from inferledger.cli import main

main()
